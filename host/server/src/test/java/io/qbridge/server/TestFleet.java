package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.client.QbridgeClient;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.protocol.v1.JobSpec;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;

/**
 * Fleet tests' servers on one PostgreSQL schema: "A" with only the host path, "B" with the host path and a
 * board (the emulator behind the board interface), so a job naming the board that is submitted through A
 * always runs on B. Leases are short (3 s) so a test never waits long for a stopped server's jobs.
 */
final class TestFleet {
    static final long LEASE_MILLIS = 3_000;

    private TestFleet() {}

    /** A server with only the host path, one worker, as fleet host {@code hostId}. */
    static JobServer hostOnly(String url, Path data, String hostId, JobExecutor executor) throws Exception {
        return JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1).withDb(url, hostId, LEASE_MILLIS), executor, List.of(TestServers.HOST));
    }

    /** A server with the host path and board {@code board-0}, one worker, as fleet host {@code hostId}. */
    static JobServer withBoard(String url, Path data, String hostId, JobExecutor executor) throws Exception {
        return JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1).withDb(url, hostId, LEASE_MILLIS), executor,
                List.of(TestServers.HOST, new ComputeDevice.Board("board-0", new EmulatorAccelerator(EmulatorConfig.defaults()))));
    }

    static QbridgeClient client(JobServer s) {
        return QbridgeClient.connect("127.0.0.1:" + s.port(), null);
    }

    /** A run job only a server with a board can claim. */
    static JobSpec boardJob() {
        return JobSpec.newBuilder().setRun(QbridgeClient.runSpec("minilm", List.of("x")).getRun().toBuilder().setDevice("board")).build();
    }

    /** A plain connection to the fleet's database (to inspect or damage what the servers stored). */
    static Connection sql(String url) throws Exception {
        return JobStoreDialect.Postgres.parse(url).connect();
    }

    /** Where a server with data directory {@code data} keeps the stored file {@code sha256}. */
    static Path stored(Path data, String sha256) {
        return data.resolve("artifacts").resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    /** Chunk {@code idx} of the shared copy of {@code sha}, as stored. */
    static byte[] chunk(Connection c, String sha, int idx) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT data FROM artifact_chunks WHERE sha256 = ? AND idx = ?")) {
            ps.setString(1, sha);
            ps.setInt(2, idx);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next(), "chunk " + idx + " of " + sha + " is stored");
                return rs.getBytes(1);
            }
        }
    }

    /** Overwrites chunk {@code idx} of the shared copy of {@code sha} (to damage or repair it). */
    static void setChunk(Connection c, String sha, int idx, byte[] data) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("UPDATE artifact_chunks SET data = ? WHERE sha256 = ? AND idx = ?")) {
            ps.setBytes(1, data);
            ps.setString(2, sha);
            ps.setInt(3, idx);
            assertEquals(1, ps.executeUpdate());
        }
    }
}
