package io.qbridge.server;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Assumptions;

/**
 * The job store's two databases for tests: the embedded H2 under a directory, and a real PostgreSQL named
 * by {@code QBRIDGE_TEST_PG_URL} ({@code .ci/postgres.sh start DIR} prints one; CI always sets it). Each
 * PostgreSQL test gets a schema of its own, so tests never see each other's jobs.
 */
final class TestDatabases {
    static final String PG_ENV = "QBRIDGE_TEST_PG_URL";

    enum Backend { H2, POSTGRES }

    private TestDatabases() {}

    /** The PostgreSQL URL, or the test is skipped with the reason printed (in CI, where .ci/run always starts one, it fails instead). */
    static String pgUrl() {
        String url = System.getenv(PG_ENV);
        if (url == null || url.isBlank()) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError(PG_ENV + " is not set in CI: .ci/run starts PostgreSQL and sets it");
            String reason = PG_ENV + " is not set: PostgreSQL tests skipped (start one with .ci/postgres.sh start /tmp/qbridge-pg and export the URL it prints)";
            System.err.println("SKIPPED: " + reason);
            Assumptions.abort(reason);
        }
        return url;
    }

    /** A {@code postgresql://} URL whose connections use a new, empty schema. */
    static String freshPgSchema() throws SQLException {
        String url = pgUrl();
        String schema = "t_" + HexFormat.of().formatHex(randomBytes());
        try (Connection c = JobStoreDialect.Postgres.parse(url).connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA " + schema);
        }
        return url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /** A {@code --db} value for the backend: null (H2 under the data directory) or a fresh PostgreSQL schema. */
    static String dbUrl(Backend b) throws SQLException {
        return b == Backend.H2 ? null : freshPgSchema();
    }

    static JobStore open(String dbUrl, Path dir) throws SQLException {
        return JobStore.open(dbUrl, dir);
    }
}
