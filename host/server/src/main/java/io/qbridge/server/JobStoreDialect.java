package io.qbridge.server;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * The few places where the job store's SQL differs between its two databases: the embedded H2 file
 * under {@code --data} (one server) and PostgreSQL (fleet mode, several servers on one job table).
 * Everything else in {@link JobStore} and its migrations ({@link JobStoreSchema}) is one SQL text for both.
 */
sealed interface JobStoreDialect {
    Connection connect() throws SQLException;

    /** The column type of protobuf bytes. */
    String bytesType();

    /** An SQL expression for the database's clock in epoch milliseconds: leases are compared on one clock, the database's. */
    String nowMillis();

    /** True when other servers may use the same tables at the same time (leases matter, recovery at start is per host). */
    boolean shared();

    /** Makes committed changes durable before a caller is told about them. */
    void flush(Connection c) throws SQLException;

    /** Serialises schema migrations between servers starting at once; {@link #unlockMigrations} undoes it. */
    void lockMigrations(Connection c) throws SQLException;

    void unlockMigrations(Connection c) throws SQLException;

    /** A clean close. */
    void close(Connection c) throws SQLException;

    /** For log lines: where the jobs live, without any password. */
    String describe();

    /** An H2 file database {@code DIR/jobs.mv.db}; its file lock keeps a second server off the directory. */
    record H2(Path dataDir) implements JobStoreDialect {
        public Connection connect() throws SQLException {
            try {
                Files.createDirectories(dataDir);
            } catch (java.io.IOException e) {
                throw new SQLException(dataDir + ": cannot create the data directory: " + e.getMessage(), e);
            }
            return DriverManager.getConnection("jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("jobs") + ";DB_CLOSE_ON_EXIT=FALSE", "qbridge", "");
        }

        public String bytesType() { return "VARBINARY"; }

        public String nowMillis() { return "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000 AS BIGINT)"; }

        public boolean shared() { return false; }

        /** H2 writes committed changes lazily: CHECKPOINT SYNC writes and fsyncs them. */
        public void flush(Connection c) throws SQLException {
            try (Statement st = c.createStatement()) {
                st.execute("CHECKPOINT SYNC");
            }
        }

        public void lockMigrations(Connection c) {} // the file lock already excludes everyone else

        public void unlockMigrations(Connection c) {}

        public void close(Connection c) throws SQLException {
            try (Statement st = c.createStatement()) {
                st.execute("SHUTDOWN");
            } finally {
                c.close();
            }
        }

        public String describe() { return "H2 " + dataDir.resolve("jobs.mv.db"); }
    }

    /**
     * PostgreSQL through the official JDBC driver. Commits are durable when they return (the server's
     * default synchronous_commit), so there is nothing to flush.
     *
     * @param jdbcUrl  {@code jdbc:postgresql://host:port/db}, without credentials
     * @param user     null for the driver's default
     * @param password null for none
     */
    record Postgres(String jdbcUrl, String user, String password) implements JobStoreDialect {
        /** Any number: all qbridge servers use the same one so that only one migrates at a time. */
        private static final long MIGRATION_LOCK = 0x71_62_72_69_64_67_65L;

        /**
         * Parses {@code postgresql://[user[:password]@]host[:port]/db} (also {@code postgres://}) or a
         * {@code jdbc:postgresql:} URL given as it is. Without a password in the URL, {@code PGPASSWORD}
         * from the environment is used, as libpq does.
         *
         * @throws IllegalArgumentException naming what is wrong with the URL
         */
        static Postgres parse(String url) {
            String pgPassword = System.getenv("PGPASSWORD");
            if (url.startsWith("jdbc:postgresql:")) return new Postgres(url, null, pgPassword);
            if (!url.startsWith("postgresql://") && !url.startsWith("postgres://")) {
                throw new IllegalArgumentException("--db " + redact(url) + ": expected postgresql://[user[:password]@]host[:port]/database or a jdbc:postgresql: URL");
            }
            URI u;
            try {
                u = new URI(url);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("--db " + redact(url) + ": not a URL (" + e.getReason() + ")");
            }
            if (u.getHost() == null) throw new IllegalArgumentException("--db " + redact(url) + ": no host");
            String db = u.getRawPath() == null ? "" : u.getRawPath().replaceFirst("^/", "");
            if (db.isEmpty() || db.contains("/")) throw new IllegalArgumentException("--db " + redact(url) + ": no database name after the host");
            String user = null;
            String password = pgPassword;
            if (u.getRawUserInfo() != null) {
                String[] up = u.getRawUserInfo().split(":", 2);
                user = decode(up[0]);
                if (up.length == 2) password = decode(up[1]);
            }
            String host = u.getHost().contains(":") && !u.getHost().startsWith("[") ? "[" + u.getHost() + "]" : u.getHost();
            String jdbc = "jdbc:postgresql://" + host + (u.getPort() >= 0 ? ":" + u.getPort() : "") + "/" + db + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
            return new Postgres(jdbc, user, password);
        }

        public Connection connect() throws SQLException {
            Properties p = new Properties();
            if (user != null) p.setProperty("user", user);
            if (password != null) p.setProperty("password", password);
            p.setProperty("ApplicationName", "qbridge serve");
            // a dead database must not hang a worker forever: the lease is what recovers from it
            p.setProperty("connectTimeout", "10");
            p.setProperty("socketTimeout", "60");
            try {
                return DriverManager.getConnection(jdbcUrl, p);
            } catch (SQLException e) {
                throw new SQLException(describe() + ": cannot connect: " + e.getMessage(), e.getSQLState(), e);
            }
        }

        public String bytesType() { return "BYTEA"; }

        public String nowMillis() { return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"; }

        public boolean shared() { return true; }

        public void flush(Connection c) {}

        public void lockMigrations(Connection c) throws SQLException {
            try (Statement st = c.createStatement()) {
                st.execute("SELECT pg_advisory_lock(" + MIGRATION_LOCK + ")");
            }
        }

        public void unlockMigrations(Connection c) throws SQLException {
            try (Statement st = c.createStatement()) {
                st.execute("SELECT pg_advisory_unlock(" + MIGRATION_LOCK + ")");
            }
        }

        public void close(Connection c) throws SQLException {
            c.close();
        }

        public String describe() { return "PostgreSQL " + jdbcUrl + (user == null ? "" : " as " + user); }

        @Override
        public String toString() {
            return describe(); // never the password
        }

        private static String decode(String s) {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        }

        private static String redact(String url) {
            return url.replaceFirst("//([^:/@]*):[^@/]*@", "//$1:***@");
        }
    }

    /** The dialect for {@code --db URL} (null: the embedded H2 under {@code dataDir}). */
    static JobStoreDialect of(String dbUrl, Path dataDir) {
        return dbUrl == null || dbUrl.isBlank() ? new H2(dataDir) : Postgres.parse(dbUrl);
    }
}
