package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The store's schema versioning, state rules, claims and leases (on H2 and on PostgreSQL), and the artifact store's naming, without a network. */
class JobStoreTest {
    private static final String A = "host-a";
    private static final String B = "host-b";
    private static final List<String> ANY = List.of("", "host");

    private static JobStore open(String url, Path dir, int version) throws SQLException {
        return JobStore.open(JobStoreDialect.of(url, dir), version);
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Backend.class)
    void migrationsApplyOnceAndTheVersionIsRecorded(TestDatabases.Backend backend, @TempDir Path data) throws Exception {
        String url = TestDatabases.dbUrl(backend);
        try (JobStore s = JobStore.open(url, data)) {
            assertEquals(JobStoreSchema.MIGRATIONS.size(), s.schemaVersion());
            s.insert("j-1", "alice", JobKind.JOB_KIND_RUN, QbridgeClient.runSpec("minilm", List.of("x")), 0, 1, null);
        }
        try (JobStore s = JobStore.open(url, data)) {
            assertEquals(JobStoreSchema.MIGRATIONS.size(), s.schemaVersion());
            assertEquals("alice", s.find("j-1").orElseThrow().client(), "reopening keeps the data");
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Backend.class)
    void anOlderDatabaseIsUpgradedInPlace(TestDatabases.Backend backend, @TempDir Path data) throws Exception {
        String url = TestDatabases.dbUrl(backend);
        try (JobStore s = open(url, data, 1)) {
            assertEquals(1, s.schemaVersion());
        }
        try (JobStore s = open(url, data, 2)) {
            assertEquals(2, s.schemaVersion());
        }
        // a job queued by a version-2 server, written as that server wrote it
        try (java.sql.Connection c = JobStoreDialect.of(url, data).connect();
             java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO jobs (id, client, kind, spec, state, priority, created, timeout_millis) VALUES (?, ?, ?, ?, ?, 0, 1, 1234)")) {
            ps.setString(1, "j-old");
            ps.setString(2, "a");
            ps.setString(3, JobKind.JOB_KIND_RUN.name());
            ps.setBytes(4, QbridgeClient.runSpec("minilm", List.of("x")).toByteArray());
            ps.setString(5, JobState.JOB_STATE_QUEUED.name());
            ps.executeUpdate();
            if (url == null) c.createStatement().execute("SHUTDOWN");
        }
        try (JobStore s = JobStore.open(url, data)) {
            assertEquals(JobStoreSchema.MIGRATIONS.size(), s.schemaVersion());
            assertEquals(1234, s.find("j-old").orElseThrow().timeoutMillis(), "the column migration 2 added is in use");
            assertEquals("j-old", s.claim(A, ANY, 1, 60_000).orElseThrow().id(), "a job queued before migration 3 runs on any server");
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Backend.class)
    void transitionsOnlyHappenFromTheStateTheyExpect(TestDatabases.Backend backend, @TempDir Path data) throws Exception {
        try (JobStore s = JobStore.open(TestDatabases.dbUrl(backend), data)) {
            s.insert("j-1", "a", JobKind.JOB_KIND_RUN, QbridgeClient.runSpec("minilm", List.of("x")), 0, 1, null);
            assertFalse(s.finish("j-1", A, 0, JobState.JOB_STATE_SUCCEEDED, 2, null, null), "a queued job cannot succeed");
            StoredJob j = s.claim(A, ANY, 2, 60_000).orElseThrow();
            assertEquals(1, j.attempts());
            assertTrue(s.claim(A, ANY, 3, 60_000).isEmpty(), "a job starts once");
            assertFalse(s.cancelQueued("j-1", 3), "a running job is not cancelled by the queue path");
            assertNull(s.interrupt("j-1", B, 1, "stop"), "only the owner gives a job back");
            assertEquals(JobState.JOB_STATE_QUEUED, s.interrupt("j-1", A, 1, "stop"), "run jobs are safe to repeat");
            assertEquals(2, s.claim(A, ANY, 4, 60_000).orElseThrow().attempts());
            assertFalse(s.finish("j-1", A, 1, JobState.JOB_STATE_SUCCEEDED, 5, null, null), "an old attempt cannot finish the new one");
            assertTrue(s.finish("j-1", A, 2, JobState.JOB_STATE_SUCCEEDED, 5, null, null));
            assertFalse(s.finish("j-1", A, 2, JobState.JOB_STATE_FAILED, 6, "late", null), "a final state is final");

            s.insert("j-2", "a", JobKind.JOB_KIND_BENCH, io.qbridge.protocol.v1.JobSpec.getDefaultInstance(), 0, 1, null);
            s.claim(A, ANY, 2, 60_000).orElseThrow();
            assertEquals(JobState.JOB_STATE_INTERRUPTED, s.interrupt("j-2", A, 1, "stop"), "a bench is not repeated blindly");
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Backend.class)
    void claimsFollowPriorityThenSubmissionAndOnlyMatchingDevices(TestDatabases.Backend backend, @TempDir Path data) throws Exception {
        try (JobStore s = JobStore.open(TestDatabases.dbUrl(backend), data)) {
            s.insert("low-1", "a", JobKind.JOB_KIND_RUN, run(""), 0, 1, null);
            s.insert("board-1", "a", JobKind.JOB_KIND_RUN, run("board"), 9, 2, null);
            s.insert("high-1", "a", JobKind.JOB_KIND_RUN, run(""), 5, 3, null);
            s.insert("low-2", "a", JobKind.JOB_KIND_RUN, run("HOST"), 0, 4, null);
            s.insert("high-2", "a", JobKind.JOB_KIND_QUANTIZE, QbridgeClient.quantizeSpec("minilm", "mxint8", 0), 5, 5, null);
            s.insert("emu-1", "a", JobKind.JOB_KIND_RUN, run("emulator"), 9, 6, null);
            List<String> order = new ArrayList<>();
            for (Optional<StoredJob> j; (j = s.claim(A, ANY, 1, 60_000)).isPresent(); ) order.add(j.get().id());
            assertEquals(List.of("high-1", "high-2", "low-1", "low-2"), order, "priority first, then submission; device names are case-blind");
            assertEquals(2, s.countInState(JobState.JOB_STATE_QUEUED), "a host-only server leaves board and emulator jobs queued");
            assertEquals("board-1", s.claim(B, List.of("board-0", "board"), 1, 60_000).orElseThrow().id());
            assertEquals("emu-1", s.claim(B, List.of("emulator"), 1, 60_000).orElseThrow().id());
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Backend.class)
    void anExpiredLeaseIsTakenOverAndTheOldOwnerCanNoLongerChangeTheJob(TestDatabases.Backend backend, @TempDir Path data) throws Exception {
        try (JobStore s = JobStore.open(TestDatabases.dbUrl(backend), data)) {
            s.insert("j-1", "a", JobKind.JOB_KIND_RUN, run(""), 0, 1, null);
            s.insert("j-2", "a", JobKind.JOB_KIND_BENCH, io.qbridge.protocol.v1.JobSpec.getDefaultInstance(), 0, 2, null);
            s.insert("j-3", "a", JobKind.JOB_KIND_RUN, run(""), 0, 3, null);
            s.claim(A, ANY, 1, 1).orElseThrow();       // a lease of 1 ms: A stops renewing at once
            s.claim(A, ANY, 1, 1).orElseThrow();
            s.claim(B, ANY, 1, 600_000).orElseThrow(); // B's lease holds
            Thread.sleep(20);
            assertEquals(List.of(new JobStore.Interrupted("j-1", JobState.JOB_STATE_QUEUED), new JobStore.Interrupted("j-2", JobState.JOB_STATE_INTERRUPTED)),
                    s.interruptRunning(null, true, "lease ran out"), "only expired leases are taken; a bench is not repeated");
            assertTrue(s.interruptRunning(null, true, "again").isEmpty(), "a job is taken over once");
            assertTrue(s.renew(A, 60_000).isEmpty(), "A learns at its next renewal that it holds nothing");
            assertFalse(s.finish("j-1", A, 1, JobState.JOB_STATE_SUCCEEDED, 5, null, null), "A's late result is refused");
            StoredJob again = s.claim(B, ANY, 6, 600_000).orElseThrow();
            assertEquals("j-1", again.id());
            assertEquals(2, again.attempts());
            assertEquals(List.of(new JobStore.Lease("j-1", 2, false), new JobStore.Lease("j-3", 1, false)),
                    s.renew(B, 600_000).stream().sorted(java.util.Comparator.comparing(JobStore.Lease::id)).toList());
            assertTrue(s.requestCancel("j-3"));
            assertTrue(s.renew(B, 600_000).stream().anyMatch(l -> l.id().equals("j-3") && l.cancelRequested()), "a cancel reaches the owner through the store");
            assertEquals(List.of(new JobStore.Interrupted("j-1", JobState.JOB_STATE_QUEUED), new JobStore.Interrupted("j-3", JobState.JOB_STATE_QUEUED)),
                    s.interruptRunning(B, false, "B restarted"), "a restarted server takes back its own jobs at once");
        }
    }

    /** Two servers' stores on one PostgreSQL database, four threads each claiming as fast as they can: every job is claimed exactly once. */
    @Test
    void concurrentClaimsFromTwoServersAreDisjoint(@TempDir Path data) throws Exception {
        String url = TestDatabases.freshPgSchema();
        int jobs = 300;
        try (JobStore a = JobStore.open(url, data); JobStore b = JobStore.open(url, data)) {
            for (int i = 0; i < jobs; i++) a.insert("j-" + i, "c", JobKind.JOB_KIND_RUN, run(""), i % 3, i, null);
            Map<String, String> claimedBy = new ConcurrentHashMap<>();
            List<String> duplicates = java.util.Collections.synchronizedList(new ArrayList<>());
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                JobStore s = t % 2 == 0 ? a : b;
                String owner = (t % 2 == 0 ? A : B) + "/" + t;
                done.add(pool.submit(() -> {
                    for (Optional<StoredJob> j; (j = s.claim(owner, ANY, 1, 60_000)).isPresent(); ) {
                        if (claimedBy.putIfAbsent(j.get().id(), owner) != null) duplicates.add(j.get().id());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get(60, TimeUnit.SECONDS);
            pool.shutdown();
            assertEquals(List.of(), duplicates);
            assertEquals(jobs, claimedBy.size(), "every job claimed");
            assertEquals(jobs, a.countInState(JobState.JOB_STATE_RUNNING));
            assertTrue(claimedBy.values().stream().anyMatch(o -> o.startsWith(A)) && claimedBy.values().stream().anyMatch(o -> o.startsWith(B)),
                    "both servers claimed jobs");
        }
    }

    /** PostgreSQL restarts or a network cut: the call that meets the broken connection fails, the next one reconnects. */
    @Test
    void aBrokenConnectionIsReopenedByTheNextCall(@TempDir Path data) throws Exception {
        String url = TestDatabases.freshPgSchema();
        try (JobStore s = JobStore.open(url, data)) {
            s.insert("j-1", "a", JobKind.JOB_KIND_RUN, run(""), 0, 1, null);
            try (java.sql.Connection admin = JobStoreDialect.Postgres.parse(url).connect(); java.sql.Statement st = admin.createStatement()) {
                st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'qbridge serve' AND pid <> pg_backend_pid()");
            }
            assertThrows(SQLException.class, () -> s.find("j-1"), "the terminated connection fails once");
            assertEquals("a", s.find("j-1").orElseThrow().client(), "then the store reconnects");
            assertEquals("j-1", s.claim(A, ANY, 1, 60_000).orElseThrow().id());
        }
    }

    @Test
    void postgresUrlsAreParsedAndPasswordsNeverShown() {
        JobStoreDialect.Postgres p = JobStoreDialect.Postgres.parse("postgresql://alice:p%40ss@db.example:5433/jobs");
        assertEquals("jdbc:postgresql://db.example:5433/jobs", p.jdbcUrl());
        assertEquals("alice", p.user());
        assertEquals("p@ss", p.password());
        assertFalse(p.toString().contains("p@ss"));
        assertEquals("jdbc:postgresql://h/db?sslmode=require", JobStoreDialect.Postgres.parse("postgres://h/db?sslmode=require").jdbcUrl());
        assertEquals("jdbc:postgresql://h:1/d", JobStoreDialect.Postgres.parse("jdbc:postgresql://h:1/d").jdbcUrl());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobStoreDialect.Postgres.parse("mysql://u:secret@h/db"));
        assertFalse(e.getMessage().contains("secret"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JobStoreDialect.Postgres.parse("postgresql://h"), "no database");
    }

    private static io.qbridge.protocol.v1.JobSpec run(String device) {
        return io.qbridge.protocol.v1.JobSpec.newBuilder().setRun(QbridgeClient.runSpec("minilm", List.of("x")).getRun().toBuilder().setDevice(device)).build();
    }

    @Test
    void artifactsAreNamedByTheirSha256AndWrittenWhole(@TempDir Path data) throws Exception {
        ArtifactStore a = new ArtifactStore(data);
        Path tmp = a.newTempFile(".bin");
        Files.writeString(tmp, "hello");
        Artifact art = a.adopt(tmp, "h.bin");
        String sha = HexFormat.of().formatHex(ArtifactStore.sha256().digest("hello".getBytes()));
        assertEquals(sha, art.getSha256());
        assertEquals(5, art.getSize());
        assertEquals("hello", Files.readString(a.path(sha)));
        assertFalse(Files.exists(tmp));
        assertTrue(a.contains(sha));
        assertFalse(a.contains("../" + sha.substring(3)));
        try (var left = Files.list(data.resolve("tmp"))) {
            assertEquals(0, left.count(), "no temporary file is left behind");
        }
        Files.writeString(a.newTempFile(".part"), "half a file from a crash");
        new ArtifactStore(data);
        try (var left = Files.list(data.resolve("tmp"))) {
            assertEquals(0, left.count(), "a restart clears what a crash left half-written");
        }
        assertTrue(a.contains(sha), "and keeps what was stored");
    }
}
