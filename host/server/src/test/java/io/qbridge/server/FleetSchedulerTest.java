package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.client.QbridgeClient;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Schedulers as servers ("hosts") without the network: several on one PostgreSQL job table (fleet mode),
 * or one on either database. What runs where and when is recorded on a logical clock (one counter that
 * every start and end ticks), so overlap and order are decided by the order of events, not by timing.
 */
class FleetSchedulerTest {
    private static final AtomicLong CLOCK = new AtomicLong();

    /** One run of a job: where it ran and its start and end on the logical clock. */
    record Span(String job, String host, String device, long start, long end) {}

    /** Runs every job for a few checkpoints and records it. */
    static final class Recorder implements JobExecutor {
        final String host;
        final List<Span> spans = Collections.synchronizedList(new ArrayList<>());
        final Map<String, AtomicInteger> completed;
        final CountDownLatch started = new CountDownLatch(1);
        volatile boolean hold; // keep every job in its checkpoint loop until released or stopped

        Recorder(String host, Map<String, AtomicInteger> completed) {
            this.host = host;
            this.completed = completed;
        }

        public JobResult execute(StoredJob job, JobContext ctx) throws InterruptedException {
            long start = CLOCK.incrementAndGet();
            started.countDown();
            for (int i = 0; i < 3 || hold; i++) {
                ctx.checkpoint();
                Thread.sleep(2);
            }
            long end = CLOCK.incrementAndGet();
            spans.add(new Span(job.id(), host, ctx.device().id(), start, end));
            completed.computeIfAbsent(job.id(), k -> new AtomicInteger()).incrementAndGet();
            return new TestServers.Instant().execute(job, ctx);
        }
    }

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
    }

    private record Host(String id, JobStore store, JobScheduler scheduler, Recorder recorder, JobEvents events) {}

    private Host host(String id, String dbUrl, Path dir, boolean board, int workers, Map<String, AtomicInteger> completed) throws Exception {
        JobStore store = JobStore.open(dbUrl, dir.resolve(id));
        open.add(store);
        List<ComputeDevice> devices = new ArrayList<>(List.of(new ComputeDevice.Host(workers)));
        if (board) devices.add(new ComputeDevice.Board("board-0", new EmulatorAccelerator(EmulatorConfig.defaults())));
        Recorder r = new Recorder(id, completed);
        JobScheduler.Settings settings = new JobScheduler.Settings(id, workers, 10_000, 1_000, 100, 50);
        JobEvents events = new JobEvents();
        JobScheduler s = new JobScheduler(store, new ArtifactStore(dir.resolve(id)), events, r, devices, settings);
        open.add(s);
        return new Host(id, store, s, r, events);
    }

    private static JobSpec run(String device) {
        return JobSpec.newBuilder().setRun(QbridgeClient.runSpec("minilm", List.of("x")).getRun().toBuilder().setDevice(device)).build();
    }

    private static StoredJob awaitState(JobStore store, String id, JobState state, long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        StoredJob j = store.find(id).orElseThrow();
        while (j.state() != state && System.currentTimeMillis() < end) {
            Thread.sleep(10);
            j = store.find(id).orElseThrow();
        }
        assertEquals(state, j.state(), id + ": " + j.error());
        return j;
    }

    @Test
    void twoServersOnOneDatabaseRunEveryJobExactlyOnce(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        Map<String, AtomicInteger> completed = new ConcurrentHashMap<>();
        Host a = host("host-a", url, dir, false, 3, completed);
        Host b = host("host-b", url, dir, false, 3, completed);
        a.scheduler().start();
        b.scheduler().start();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 60; i++) ids.add((i % 2 == 0 ? a : b).scheduler().submit("c", JobKind.JOB_KIND_RUN, run(""), i % 3, null).id());
        for (String id : ids) awaitState(a.store(), id, JobState.JOB_STATE_SUCCEEDED, 30_000);
        for (String id : ids) assertEquals(1, completed.get(id).get(), id + " ran once");
        assertEquals(60, a.recorder().spans.size() + b.recorder().spans.size(), "no job ran anywhere twice");
    }

    @Test
    void aServerThatStopsRenewingHasItsJobTakenOverAfterTheLease(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        Map<String, AtomicInteger> completed = new ConcurrentHashMap<>();
        Host a = host("host-a", url, dir, false, 1, completed);
        a.recorder().hold = true;
        a.scheduler().start();
        String id = a.scheduler().submit("c", JobKind.JOB_KIND_RUN, run(""), 0, null).id();
        assertTrue(a.recorder().started.await(10, TimeUnit.SECONDS));
        Host b = host("host-b", url, dir, false, 1, completed);
        b.scheduler().start();
        assertEquals("host-a", b.store().ownerOf(id).orElseThrow().getKey(), "A holds the job while it renews");

        a.store().crash(); // A dies: its connection is gone, nothing more is written, no lease is renewed
        a.scheduler().crash();

        StoredJob done = awaitState(b.store(), id, JobState.JOB_STATE_SUCCEEDED, 15_000);
        assertEquals(2, done.attempts());
        assertEquals(1, completed.get(id).get(), "it completed once, on B");
        assertEquals("host-b", b.recorder().spans.getFirst().host());
        List<JobState> states = b.store().events(id).stream().filter(JobEvent::hasState).map(JobEvent::getState).toList();
        assertEquals(List.of(JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_INTERRUPTED, JobState.JOB_STATE_QUEUED,
                JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_SUCCEEDED), states);
    }

    @Test
    void aCancelSentToAnotherServerStopsTheJobWhereItRuns(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        Map<String, AtomicInteger> completed = new ConcurrentHashMap<>();
        Host a = host("host-a", url, dir, false, 1, completed);
        a.recorder().hold = true;
        a.scheduler().start();
        Host b = host("host-b", url, dir, false, 1, completed);
        String id = a.scheduler().submit("c", JobKind.JOB_KIND_RUN, run(""), 0, null).id();
        assertTrue(a.recorder().started.await(10, TimeUnit.SECONDS));
        b.scheduler().cancel(id);
        awaitState(b.store(), id, JobState.JOB_STATE_CANCELLED, 5_000);
        assertEquals(null, completed.get(id));
    }

    @Test
    void aWatcherOnOneServerSeesTheEventsOfAJobRunningOnAnother(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        Map<String, AtomicInteger> completed = new ConcurrentHashMap<>();
        Host a = host("host-a", url, dir, false, 1, completed);
        Host b = host("host-b", url, dir, true, 1, completed);
        a.scheduler().start();
        b.scheduler().start();
        String id = a.scheduler().submit("c", JobKind.JOB_KIND_RUN, run("board"), 0, null).id(); // only B can run it
        List<JobEvent> seenOnA = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch finished = new CountDownLatch(1);
        a.events().subscribe(id, e -> {
            seenOnA.add(e);
            if (e.hasState() && e.getState() == JobState.JOB_STATE_SUCCEEDED) finished.countDown();
        });
        assertTrue(finished.await(15, TimeUnit.SECONDS), "A's watcher saw the job succeed on B: " + seenOnA);
        assertTrue(seenOnA.stream().anyMatch(JobEvent::hasResult), "and its result");
        assertEquals("host-b", b.recorder().spans.getFirst().host());
    }

    @Test
    void aServerWithoutABoardNeverClaimsABoardJob(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        Map<String, AtomicInteger> completed = new ConcurrentHashMap<>();
        Host a = host("host-a", url, dir, false, 2, completed);
        Host b = host("host-b", url, dir, true, 2, completed);
        List<String> boardJobs = new ArrayList<>();
        List<String> all = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String id = a.scheduler().submit("c", JobKind.JOB_KIND_RUN, run(i % 2 == 0 ? "board" : ""), 0, null).id();
            all.add(id);
            if (i % 2 == 0) boardJobs.add(id);
        }
        a.scheduler().start(); // A starts first and sees every job before B exists
        Thread.sleep(200);
        b.scheduler().start();
        for (String id : all) awaitState(a.store(), id, JobState.JOB_STATE_SUCCEEDED, 30_000);
        assertTrue(a.recorder().spans.stream().noneMatch(s -> boardJobs.contains(s.job())), "A ran no board job: " + a.recorder().spans);
        for (Span s : b.recorder().spans) {
            assertEquals(boardJobs.contains(s.job()) ? "board-0" : "host", s.device(), s.toString());
        }
        assertEquals(8, b.recorder().spans.stream().filter(s -> s.device().equals("board-0")).count());
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Backend.class)
    void aBoardRunsOneJobAtATimeInPriorityThenSubmissionOrder(TestDatabases.Backend backend, @TempDir Path dir) throws Exception {
        Map<String, AtomicInteger> completed = new ConcurrentHashMap<>();
        Host h = host("host-a", TestDatabases.dbUrl(backend), dir, true, 4, completed);
        int[] priorities = {0, 0, 5, 0, 5, 9, 1, 0};
        List<StoredJob> board = new ArrayList<>();
        List<String> hostJobs = new ArrayList<>();
        for (int p : priorities) {
            board.add(h.scheduler().submit("c", JobKind.JOB_KIND_RUN, run("board-0"), p, null));
            hostJobs.add(h.scheduler().submit("c", JobKind.JOB_KIND_RUN, run("host"), p, null).id());
        }
        h.scheduler().start();
        for (StoredJob j : board) awaitState(h.store(), j.id(), JobState.JOB_STATE_SUCCEEDED, 30_000);
        for (String id : hostJobs) awaitState(h.store(), id, JobState.JOB_STATE_SUCCEEDED, 30_000);

        List<Span> onBoard = h.recorder().spans.stream().filter(s -> s.device().equals("board-0")).sorted(Comparator.comparingLong(Span::start)).toList();
        assertEquals(board.size(), onBoard.size(), "every board job ran on the board");
        for (int i = 1; i < onBoard.size(); i++) {
            assertTrue(onBoard.get(i).start() > onBoard.get(i - 1).end(), "board jobs overlap: " + onBoard.get(i - 1) + " and " + onBoard.get(i));
        }
        List<String> expected = board.stream().sorted(Comparator.comparingInt(StoredJob::priority).reversed().thenComparingLong(StoredJob::seq))
                .map(StoredJob::id).toList();
        assertEquals(expected, onBoard.stream().map(Span::job).toList(), "priority first, then submission order");
        assertTrue(h.recorder().spans.stream().filter(s -> hostJobs.contains(s.job())).allMatch(s -> s.device().equals("host")));
    }

    @ParameterizedTest
    @EnumSource(TestDatabases.Backend.class)
    void hostJobsRunInParallelUpToTheWorkerCount(TestDatabases.Backend backend, @TempDir Path dir) throws Exception {
        Map<String, AtomicInteger> completed = new ConcurrentHashMap<>();
        Host h = host("host-a", TestDatabases.dbUrl(backend), dir, false, 3, completed);
        h.recorder().hold = true;
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) ids.add(h.scheduler().submit("c", JobKind.JOB_KIND_RUN, run(""), 0, null).id());
        h.scheduler().start();
        long end = System.currentTimeMillis() + 10_000;
        while (h.store().countInState(JobState.JOB_STATE_RUNNING) < 3 && System.currentTimeMillis() < end) Thread.sleep(10);
        assertEquals(3, h.store().countInState(JobState.JOB_STATE_RUNNING), "three workers: three jobs at once");
        Thread.sleep(300); // six dispatcher polls: none may start a fourth
        assertEquals(3, h.store().countInState(JobState.JOB_STATE_RUNNING), "never more than the worker count");
        h.recorder().hold = false;
        for (String id : ids) awaitState(h.store(), id, JobState.JOB_STATE_SUCCEEDED, 10_000);
    }
}
