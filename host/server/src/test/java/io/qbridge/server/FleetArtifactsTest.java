package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.QuantizeResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fleet mode over the network: two job servers on one PostgreSQL schema ({@code QBRIDGE_TEST_PG_URL}),
 * A with only the host path, B with a board, so a board job submitted through A always runs on B. A client
 * of A fetches B's artifacts (copied through the database, sha256-checked) and watches B's progress.
 */
class FleetArtifactsTest {
    /** What a board job does on B: progress steps, then an artifact of several database chunks. */
    static final class ArtifactMaker implements JobExecutor {
        final List<Double> steps;
        final int bytes;
        /** Before each next step, wait until this sees the previous one (null: do not wait). */
        volatile Predicate<Double> seen;
        /** Reports in a burst instead: this many fractions as fast as they come, then 1.0. */
        volatile int burst;
        volatile long burstNanos;

        ArtifactMaker(List<Double> steps, int bytes) {
            this.steps = steps;
            this.bytes = bytes;
        }

        public JobResult execute(StoredJob job, JobContext ctx) throws Exception {
            if (burst > 0) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (seen != null && !seen.test(0.0) && System.nanoTime() < end) Thread.sleep(10);
                long t0 = System.nanoTime();
                for (int i = 0; i < burst; i++) ctx.progress(i / (double) burst, "burst " + i);
                ctx.progress(1, "done");
                burstNanos = System.nanoTime() - t0;
            } else {
                for (double f : steps) {
                    ctx.progress(f, "step " + f);
                    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (seen != null && !seen.test(f) && System.nanoTime() < end) Thread.sleep(10);
                    // the next report must not fall inside the store's throttle interval, or only the last would be stored
                    Thread.sleep(TimeUnit.NANOSECONDS.toMillis(FleetRelay.PROGRESS_STORE_INTERVAL_NANOS) + 50);
                }
            }
            byte[] content = new byte[bytes];
            new Random(job.id().hashCode()).nextBytes(content);
            Artifact a = ctx.artifacts().write(job.id() + ".bin", content);
            return JobResult.newBuilder().setQuantize(QuantizeResult.newBuilder().setContainer(a).setLayers(1)).build();
        }
    }

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
    }

    private record Fleet(String url, JobServer a, JobServer b, QbridgeClient viaA, QbridgeClient viaB, ArtifactMaker maker, Path dataB) {}

    private Fleet fleet(Path dir, ArtifactMaker maker) throws Exception {
        String url = TestDatabases.freshPgSchema();
        // A: the host path only; it never runs a board job
        JobServer a = TestFleet.hostOnly(url, dir.resolve("a"), "host-a", new TestServers.Instant());
        open.add(a);
        Path dataB = dir.resolve("b");
        JobServer b = TestFleet.withBoard(url, dataB, "host-b", maker);
        open.add(b);
        QbridgeClient viaA = TestFleet.client(a);
        open.add(viaA::close);
        QbridgeClient viaB = TestFleet.client(b);
        open.add(viaB::close);
        return new Fleet(url, a, b, viaA, viaB, maker, dataB);
    }

    private static JobSpec boardJob() {
        return TestFleet.boardJob();
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static Connection sql(String url) throws Exception {
        return TestFleet.sql(url);
    }

    @Test
    void aJobRunOnBIsWatchedWithProgressAndFetchedByteIdenticalThroughA(@TempDir Path dir) throws Exception {
        List<Double> steps = List.of(0.25, 0.5, 0.75, 1.0);
        Fleet f = fleet(dir, new ArtifactMaker(steps, 2 * SharedArtifacts.CHUNK + 12_345)); // three chunks, the last partial
        List<JobEvent> onA = new CopyOnWriteArrayList<>();
        f.maker().seen = x -> onA.stream().anyMatch(e -> e.hasProgress() && e.getProgress().getFraction() == x);
        Job submitted = f.viaA().submit(boardJob(), 0);
        Job done = f.viaA().await(submitted.getId(), onA::add);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());

        // the watch through A: B's progress, in order, each stored step once, between RUNNING and the result
        List<Double> fractions = onA.stream().filter(JobEvent::hasProgress).map(e -> e.getProgress().getFraction()).toList();
        assertEquals(steps, fractions, "A relayed every stored progress of B once, in increasing order: " + onA);
        assertTrue(onA.stream().filter(JobEvent::hasProgress).allMatch(e -> e.getProgress().getEtaMillis() >= 0 && e.getProgress().getStage().startsWith("step")));
        assertProgressOnlyWhileRunning(onA);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, onA.getLast().getState(), "the stream ends with the final state");

        // the artifact: only B made it; A serves it from the database, byte for byte what B wrote
        Artifact art = done.getResult().getQuantize().getContainer();
        Path onB = f.dataB().resolve("artifacts").resolve(art.getSha256().substring(0, 2)).resolve(art.getSha256());
        assertTrue(Files.isRegularFile(onB));
        Path copyOnA = dir.resolve("a").resolve("artifacts").resolve(art.getSha256().substring(0, 2)).resolve(art.getSha256());
        assertFalse(Files.exists(copyOnA), "A has no copy before the fetch");
        byte[] viaA = f.viaA().artifactBytes(done.getId(), "");
        assertArrayEquals(Files.readAllBytes(onB), viaA);
        assertEquals(art.getSha256(), sha256(viaA));
        assertArrayEquals(viaA, Files.readAllBytes(copyOnA), "A keeps the verified copy for the next download");
        assertArrayEquals(viaA, f.viaA().artifactBytes(done.getId(), art.getSha256()), "the second download (local on A) is the same");
        try (Connection c = sql(f.url()); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM artifact_chunks WHERE sha256 = '" + art.getSha256() + "'")) {
            rs.next();
            assertEquals(3, rs.getInt(1), "stored in three chunks");
        }
    }

    @Test
    void aCorruptOrMissingChunkFailsTheDownloadWithDataLossAndLeavesNoCopy(@TempDir Path dir) throws Exception {
        Fleet f = fleet(dir, new ArtifactMaker(List.of(), 3 * SharedArtifacts.CHUNK - 1));
        Job first = f.viaA().await(f.viaA().submit(boardJob(), 0).getId(), null);
        Job second = f.viaA().await(f.viaA().submit(boardJob(), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, first.getState(), first.getError());
        assertEquals(JobState.JOB_STATE_SUCCEEDED, second.getState(), second.getError());
        String sha1 = first.getResult().getQuantize().getContainer().getSha256();
        String sha2 = second.getResult().getQuantize().getContainer().getSha256();
        Path aStore = dir.resolve("a");

        byte[] original;
        try (Connection c = sql(f.url())) {
            original = TestFleet.chunk(c, sha1, 1);
            byte[] bad = original.clone();
            bad[bad.length / 2] ^= 1; // one flipped bit
            TestFleet.setChunk(c, sha1, 1, bad);
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM artifact_chunks WHERE sha256 = ? AND idx = 2")) {
                ps.setString(1, sha2);
                assertEquals(1, ps.executeUpdate());
            }
        }
        StatusRuntimeException corrupt = assertThrows(StatusRuntimeException.class, () -> f.viaA().artifactBytes(first.getId(), ""));
        assertEquals(Status.Code.DATA_LOSS, corrupt.getStatus().getCode(), corrupt.toString());
        assertTrue(corrupt.getStatus().getDescription().contains("sha256"), corrupt.getStatus().getDescription());
        StatusRuntimeException missing = assertThrows(StatusRuntimeException.class, () -> f.viaA().artifactBytes(second.getId(), ""));
        assertEquals(Status.Code.DATA_LOSS, missing.getStatus().getCode(), missing.toString());
        assertTrue(missing.getStatus().getDescription().contains("chunk 2 of 3") && missing.getStatus().getDescription().contains("missing"),
                missing.getStatus().getDescription());
        assertFalse(Files.exists(aStore.resolve("artifacts").resolve(sha1.substring(0, 2)).resolve(sha1)), "no bad copy entered A's store");
        try (var left = Files.list(aStore.resolve("tmp"))) {
            assertEquals(0, left.count(), "no temporary file left behind");
        }
        assertFalse(Files.exists(aStore.resolve("artifacts").resolve(sha2.substring(0, 2)).resolve(sha2)));

        // B made them and still serves its own copies; once the chunk is repaired, A serves the right bytes
        assertEquals(sha1, sha256(f.viaB().artifactBytes(first.getId(), "")));
        assertEquals(sha2, sha256(f.viaB().artifactBytes(second.getId(), "")));
        try (Connection c = sql(f.url())) {
            TestFleet.setChunk(c, sha1, 1, original);
        }
        assertEquals(sha1, sha256(f.viaA().artifactBytes(first.getId(), "")));
    }

    @Test
    void progressReachesTheDatabaseThrottledWhileWatchersHereSeeEveryReport(@TempDir Path dir) throws Exception {
        ArtifactMaker maker = new ArtifactMaker(List.of(), 10);
        maker.burst = 200;
        Fleet f = fleet(dir, maker);
        try (Connection c = sql(f.url()); Statement st = c.createStatement()) {
            // counts the writes of a job's progress column as they happen (no statistics delay)
            st.execute("CREATE TABLE progress_writes (n INT NOT NULL)");
            st.execute("INSERT INTO progress_writes VALUES (0)");
            st.execute("""
                    CREATE FUNCTION count_progress_write() RETURNS trigger AS $$
                    BEGIN
                      IF NEW.progress IS NOT NULL AND NEW.progress IS DISTINCT FROM OLD.progress THEN UPDATE progress_writes SET n = n + 1; END IF;
                      RETURN NEW;
                    END $$ LANGUAGE plpgsql""");
            st.execute("CREATE TRIGGER progress_writes BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION count_progress_write()");
        }
        List<JobEvent> onB = Collections.synchronizedList(new ArrayList<>());
        maker.seen = x -> !onB.isEmpty(); // the burst starts once B's watcher has its snapshot (it is subscribed then)
        Job submitted = f.viaA().submit(boardJob(), 0);
        Job done = f.viaB().await(submitted.getId(), onB::add);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        long progressOnB = onB.stream().filter(JobEvent::hasProgress).count();
        int writes;
        try (Connection c = sql(f.url()); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT n FROM progress_writes")) {
            rs.next();
            writes = rs.getInt(1);
        }
        assertEquals(201, progressOnB, "the watcher on the job's own server sees every report");
        long bound = 2 + maker.burstNanos / FleetRelay.PROGRESS_STORE_INTERVAL_NANOS;
        assertTrue(writes >= 2 && writes <= bound, "201 reports in " + maker.burstNanos / 1_000_000 + " ms: the first and the final one stored, at most one per interval between: "
                + writes + " writes (bound " + bound + ")");
    }

    @Test
    void progressIsStoredOnlyByTheOwnerOfTheAttemptAndClearedWhenTheJobLeavesRunning(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        try (JobStore s = JobStore.open(url, dir)) {
            s.insert("j-1", "c", io.qbridge.protocol.v1.JobKind.JOB_KIND_RUN, QbridgeClient.runSpec("minilm", List.of("x")), 0, 1, null);
            JobEvent p1 = progress("j-1", 0.5);
            assertFalse(s.saveProgress("j-1", "host-a", 1, p1), "a queued job has no progress");
            StoredJob j = s.claim("host-a", List.of(""), 2, 60_000).orElseThrow();
            assertFalse(s.saveProgress("j-1", "host-b", j.attempts(), p1), "only the owner stores progress");
            assertFalse(s.saveProgress("j-1", "host-a", j.attempts() + 1, p1), "only for its attempt");
            assertTrue(s.saveProgress("j-1", "host-a", j.attempts(), p1));
            assertEquals(java.util.Map.of("j-1", p1), s.progressOfOthers(List.of("j-1", "j-none"), "host-b"));
            assertEquals(java.util.Map.of(), s.progressOfOthers(List.of("j-1"), "host-a"), "a server's own jobs are not relayed to it");
            assertEquals(JobState.JOB_STATE_QUEUED, s.interrupt("j-1", "host-a", j.attempts(), "stop"));
            StoredJob again = s.claim("host-b", List.of(""), 3, 60_000).orElseThrow();
            assertEquals(java.util.Map.of(), s.progressOfOthers(List.of("j-1"), "host-a"), "a new attempt starts without the old one's progress");
            assertTrue(s.saveProgress("j-1", "host-b", again.attempts(), progress("j-1", 0.9)));
            assertTrue(s.finish("j-1", "host-b", again.attempts(), JobState.JOB_STATE_SUCCEEDED, 4, null, null));
            assertEquals(java.util.Map.of(), s.progressOfOthers(List.of("j-1"), "host-a"), "a finished job has none");
        }
    }

    @Test
    void twoServersCopyingTheSameContentAtOnceLeaveOneWholeCopy(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        byte[] content = new byte[2 * SharedArtifacts.CHUNK + 7];
        new Random(7).nextBytes(content);
        try (JobStore a = JobStore.open(url, dir.resolve("a")); JobStore b = JobStore.open(url, dir.resolve("b"))) {
            ArtifactStore la = new ArtifactStore(dir.resolve("a"));
            ArtifactStore lb = new ArtifactStore(dir.resolve("b"));
            Artifact art = la.write("x.bin", content);
            lb.write("x.bin", content);
            java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
            java.util.concurrent.ExecutorService two = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                var fa = two.submit(() -> { go.await(); a.sharedArtifacts().orElseThrow().put(art.getSha256(), la.path(art.getSha256())); return null; });
                var fb = two.submit(() -> { go.await(); b.sharedArtifacts().orElseThrow().put(art.getSha256(), lb.path(art.getSha256())); return null; });
                fa.get(30, TimeUnit.SECONDS);
                fb.get(30, TimeUnit.SECONDS);
            } finally {
                two.shutdownNow();
            }
            try (Connection c = sql(url); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT (SELECT COUNT(*) FROM artifact_blobs), (SELECT COUNT(*) FROM artifact_chunks)")) {
                rs.next();
                assertEquals(1, rs.getInt(1));
                assertEquals(3, rs.getInt(2));
            }
            ArtifactStore lc = new ArtifactStore(dir.resolve("c"));
            a.sharedArtifacts().orElseThrow().fetchInto(lc, art);
            assertArrayEquals(content, Files.readAllBytes(lc.path(art.getSha256())));
        }
    }

    @Test
    void aLocalFileThatDoesNotMatchItsNameIsNotCopiedIntoTheDatabase(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        try (JobStore s = JobStore.open(url, dir)) {
            ArtifactStore local = new ArtifactStore(dir);
            Artifact art = local.write("x.bin", new byte[] {1, 2, 3});
            Files.write(local.path(art.getSha256()), new byte[] {1, 2, 4}); // the disk changed it after it was stored
            SharedArtifacts shared = s.sharedArtifacts().orElseThrow();
            assertThrows(ArtifactStore.CorruptArtifactException.class, () -> shared.put(art.getSha256(), local.path(art.getSha256())));
            assertFalse(shared.contains(art.getSha256()), "nothing of it is visible");
            try (Connection c = sql(url); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM artifact_chunks")) {
                rs.next();
                assertEquals(0, rs.getInt(1));
            }
        }
        try (JobStore h2 = JobStore.open(null, dir.resolve("h2"))) {
            assertTrue(h2.sharedArtifacts().isEmpty(), "the embedded store (one server) has no shared artifacts");
        }
    }

    private static JobEvent progress(String id, double f) {
        return JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis())
                .setProgress(io.qbridge.protocol.v1.Progress.newBuilder().setFraction(f).setStage("s").setEtaMillis(1)).build();
    }

    /** The stream shows progress only while the job is RUNNING (the snapshot's state or the last state event), and the result after it. */
    static void assertProgressOnlyWhileRunning(List<JobEvent> stream) {
        JobState shown = JobState.JOB_STATE_UNSPECIFIED;
        boolean result = false;
        for (JobEvent e : stream) {
            if (e.hasSnapshot()) shown = e.getSnapshot().getState();
            if (e.hasState()) shown = e.getState();
            if (e.hasResult()) result = true;
            if (e.hasProgress()) assertTrue(shown == JobState.JOB_STATE_RUNNING && !result, "progress while RUNNING, before the result: " + stream);
        }
        assertTrue(result, "the stream carried the result: " + stream);
    }
}
