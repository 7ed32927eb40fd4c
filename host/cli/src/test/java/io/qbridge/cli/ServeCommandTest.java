package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code qbridge serve}'s fleet options fail early, in one line, and never print a password. */
class ServeCommandTest {
    @Test
    void aDbUrlThatIsNotPostgresqlIsRefused(@TempDir Path dir) {
        CliTest.Run r = CliTest.run("serve", "--port", "0", "--data", dir.toString(), "--db", "mysql://u:secret@h/db");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--db: expected postgresql://"), r.err());
        assertFalse(r.err().contains("secret"), r.err());
    }

    @Test
    void anUnreachableDatabaseIsOneLineWithoutThePassword(@TempDir Path dir) {
        CliTest.Run r = CliTest.run("serve", "--port", "0", "--data", dir.toString(), "--db", "postgresql://qb:secret@127.0.0.1:1/jobs");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("qbridge: --db: PostgreSQL jdbc:postgresql://127.0.0.1:1/jobs as qb: cannot connect"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(r.err().contains("secret"), r.err());
    }

    @Test
    void aLeaseShorterThanThreeHeartbeatsIsRefused(@TempDir Path dir) {
        CliTest.Run r = CliTest.run("serve", "--port", "0", "--data", dir.toString(), "--lease", "1");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--lease: at least 1.5 seconds"), r.err());
    }
}
