package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve --host} beyond loopback is refused without tokens and TLS, in one line naming what is missing. */
class ServeExposureTest {
    @Test
    void aNonLoopbackHostWithoutTokenFileOrTlsIsRefused(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        CliTest.Run r = CliTest.run("serve", "--host", "0.0.0.0", "--port", "0", "--data", data.toString());
        assertEquals(2, r.exit(), r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.contains("--host 0.0.0.0") && err.contains("lacks a token file (--token-file) and TLS (--tls-cert and --tls-key)")
                && err.contains("--insecure"), err);
        assertFalse(Files.exists(data), "nothing created");

        Path tokens = dir.resolve("tokens");
        Files.writeString(tokens, io.qbridge.server.TokenFile.line("a", io.qbridge.server.Caller.Role.ADMIN, "s") + "\n");
        CliTest.Run withTokens = CliTest.run("serve", "--host", "0.0.0.0", "--port", "0", "--data", data.toString(), "--token-file", tokens.toString());
        assertEquals(2, withTokens.exit(), withTokens.err());
        assertTrue(withTokens.err().contains("lacks TLS (--tls-cert and --tls-key):") && !withTokens.err().contains("token file"), withTokens.err());
    }
}
