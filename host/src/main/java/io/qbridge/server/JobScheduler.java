package io.qbridge.server;

import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.Progress;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The queue and the workers. A job is acknowledged only once its row is on disk; the in-memory queue is
 * rebuilt from the database at start, after jobs a dead server left RUNNING are marked INTERRUPTED and,
 * when safe to repeat, queued again.
 *
 * <p>Every state change goes through the store with a condition on the previous state ("UPDATE … WHERE
 * state = QUEUED"), so a cancel racing a worker that picks the same job resolves to exactly one winner.
 */
public final class JobScheduler implements AutoCloseable {
    /** Thrown by {@link #submit} when {@code maxQueued} jobs are already waiting. */
    public static final class QueueFullException extends Exception {
        private static final long serialVersionUID = 1L;

        QueueFullException(int max) {
            super("the queue is full (" + max + " jobs waiting); retry later");
        }
    }

    private record Waiting(String id, int priority, long seq) implements Comparable<Waiting> {
        public int compareTo(Waiting o) {
            return priority != o.priority ? Integer.compare(o.priority, priority) : Long.compare(seq, o.seq);
        }
    }

    /** The in-memory side of a running job: its cancel flag. */
    private static final class Running {
        volatile boolean cancelled;
    }

    private final JobStore store;
    private final ArtifactStore artifacts;
    private final JobEvents events;
    private final JobExecutor executor;
    private final int maxQueued;
    private final PriorityBlockingQueue<Waiting> queue = new PriorityBlockingQueue<>();
    private final Map<String, Running> running = new ConcurrentHashMap<>();
    private final List<Thread> workers = new ArrayList<>();
    private final SecureRandom random = new SecureRandom();
    private volatile boolean stopping;
    private volatile boolean crashed;

    public JobScheduler(JobStore store, ArtifactStore artifacts, JobEvents events, JobExecutor executor, int workerCount, int maxQueued) {
        this.store = store;
        this.artifacts = artifacts;
        this.events = events;
        this.executor = executor;
        this.maxQueued = maxQueued;
        for (int i = 0; i < workerCount; i++) {
            Thread t = new Thread(this::workLoop, "qbridge-worker-" + i);
            t.setDaemon(true);
            workers.add(t);
        }
    }

    /** Recovers what a previous server left, then starts the workers. Returns the ids that were interrupted. */
    public List<String> start() throws SQLException {
        List<String> interrupted = store.running();
        for (String id : interrupted) {
            JobState to = store.interrupt(id, "the server stopped while the job ran");
            record(id, JobState.JOB_STATE_INTERRUPTED);
            if (to == JobState.JOB_STATE_QUEUED) record(id, JobState.JOB_STATE_QUEUED);
        }
        for (StoredJob j : store.queued()) queue.add(new Waiting(j.id(), j.priority(), j.seq()));
        workers.forEach(Thread::start);
        return interrupted;
    }

    public StoredJob submit(String client, JobKind kind, JobSpec spec, int priority, String requestId) throws SQLException, QueueFullException {
        return submit(client, kind, spec, priority, requestId, 0);
    }

    /** @param timeoutMillis the longest the job may run once started; 0 = no limit */
    public StoredJob submit(String client, JobKind kind, JobSpec spec, int priority, String requestId, long timeoutMillis)
            throws SQLException, QueueFullException {
        synchronized (this) { // one submit at a time keeps the queue bound exact
            if (requestId != null) {
                Optional<StoredJob> earlier = store.findByRequestId(client, requestId);
                if (earlier.isPresent()) return earlier.get();
            }
            if (queue.size() >= maxQueued) throw new QueueFullException(maxQueued);
            StoredJob j = store.insert(newId(), client, kind, spec, priority, System.currentTimeMillis(), requestId, timeoutMillis);
            record(j.id(), JobState.JOB_STATE_QUEUED);
            ServerLog.info("job %s %s client=%s QUEUED", j.id(), kindName(kind), client);
            queue.add(new Waiting(j.id(), j.priority(), j.seq()));
            return j;
        }
    }

    /** Cancels a queued job at once and asks a running one to stop at its next checkpoint. Idempotent. */
    public StoredJob cancel(String id) throws SQLException {
        if (store.cancelQueued(id, System.currentTimeMillis())) {
            queue.removeIf(w -> w.id().equals(id));
            record(id, JobState.JOB_STATE_CANCELLED);
            ServerLog.info("job %s QUEUED->CANCELLED", id);
        } else {
            Running r = running.get(id);
            if (r != null) r.cancelled = true;
        }
        return store.find(id).orElseThrow();
    }

    public int queuedCount() {
        return queue.size();
    }

    private void workLoop() {
        while (!stopping) {
            Waiting w;
            try {
                w = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (w == null) continue;
            try {
                runOne(w.id());
            } catch (SQLException | RuntimeException e) {
                if (crashed) return;
                ServerLog.info("job %s: the store failed: %s", w.id(), e);
            }
        }
    }

    private void runOne(String id) throws SQLException {
        Running r = new Running();
        running.put(id, r);
        try {
            if (!store.markRunning(id, System.currentTimeMillis())) return; // cancelled while it waited
            StoredJob job = store.find(id).orElseThrow();
            record(id, JobState.JOB_STATE_RUNNING);
            ServerLog.info("job %s %s client=%s QUEUED->RUNNING (attempt %d)", id, kindName(job.kind()), job.client(), job.attempts());
            Context ctx = new Context(id, r, System.nanoTime(), job.timeoutMillis());
            JobResult result;
            try {
                result = executor.execute(job, ctx);
            } catch (JobAbortedException e) {
                if (crashed) return;
                if (e.reason() == JobAbortedException.Reason.SHUTDOWN) {
                    JobState to = store.interrupt(id, "the server stopped while the job ran");
                    record(id, JobState.JOB_STATE_INTERRUPTED);
                    if (to == JobState.JOB_STATE_QUEUED) record(id, JobState.JOB_STATE_QUEUED);
                    ServerLog.info("job %s RUNNING->INTERRUPTED%s", id, to == JobState.JOB_STATE_QUEUED ? "->QUEUED (runs again at next start)" : "");
                } else if (e.reason() == JobAbortedException.Reason.DEADLINE) {
                    String msg = "deadline exceeded: ran longer than " + job.timeoutMillis() + " ms";
                    store.finish(id, JobState.JOB_STATE_FAILED, System.currentTimeMillis(), msg, null);
                    publishAndStore(JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis()).setError(msg).build());
                    record(id, JobState.JOB_STATE_FAILED);
                    ServerLog.info("job %s RUNNING->FAILED: %s", id, msg);
                } else {
                    store.finish(id, JobState.JOB_STATE_CANCELLED, System.currentTimeMillis(), null, null);
                    record(id, JobState.JOB_STATE_CANCELLED);
                    ServerLog.info("job %s RUNNING->CANCELLED", id);
                }
                return;
            } catch (Throwable e) { // any failure of the work fails the job, never the worker
                if (crashed) return;
                String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                store.finish(id, JobState.JOB_STATE_FAILED, System.currentTimeMillis(), msg, null);
                publishAndStore(JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis()).setError(msg).build());
                record(id, JobState.JOB_STATE_FAILED);
                ServerLog.info("job %s RUNNING->FAILED: %s", id, msg);
                return;
            }
            if (crashed) return;
            if (!store.finish(id, JobState.JOB_STATE_SUCCEEDED, System.currentTimeMillis(), null, result)) return;
            // the result first, then the final state: a watcher stops at the final state
            publishAndStore(JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis()).setResult(result).build());
            record(id, JobState.JOB_STATE_SUCCEEDED);
            ServerLog.info("job %s RUNNING->SUCCEEDED in %.1f s", id, (System.nanoTime() - ctx.startNanos) / 1e9);
        } finally {
            running.remove(id);
        }
    }

    private void record(String id, JobState state) throws SQLException {
        publishAndStore(JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis()).setState(state).build());
    }

    private void publishAndStore(JobEvent e) throws SQLException {
        store.appendEvent(e);
        events.publish(e);
    }

    private final class Context implements JobContext {
        private final String id;
        private final Running running;
        final long startNanos;
        private final long deadlineNanos; // Long.MAX_VALUE: none

        Context(String id, Running running, long startNanos, long timeoutMillis) {
            this.id = id;
            this.running = running;
            this.startNanos = startNanos;
            this.deadlineNanos = timeoutMillis > 0 ? startNanos + TimeUnit.MILLISECONDS.toNanos(timeoutMillis) : Long.MAX_VALUE;
        }

        public String jobId() { return id; }
        public ArtifactStore artifacts() { return artifacts; }

        public void progress(double fraction, String stage) {
            long elapsedMs = (System.nanoTime() - startNanos) / 1_000_000;
            long eta = fraction <= 0 ? -1 : Math.round(elapsedMs * (1 - fraction) / fraction);
            Progress p = Progress.newBuilder().setFraction(fraction).setStage(stage).setEtaMillis(eta).build();
            events.publish(JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis()).setProgress(p).build()); // live only
        }

        public void log(String line) {
            try {
                publishAndStore(JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis()).setLogLine(line).build());
            } catch (SQLException e) {
                throw new IllegalStateException("job store: " + e.getMessage(), e);
            }
        }

        public void checkpoint() {
            if (stopping) throw new JobAbortedException(JobAbortedException.Reason.SHUTDOWN);
            if (running.cancelled) throw new JobAbortedException(JobAbortedException.Reason.CANCELLED);
            if (deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos > 0) throw new JobAbortedException(JobAbortedException.Reason.DEADLINE);
        }
    }

    /** Stops taking jobs, stops running ones at their next checkpoint (they are re-queued), waits for the workers. */
    @Override
    public void close() {
        stopping = true;
        try {
            for (Thread t : workers) t.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stop waiting; the workers are daemons and finish their checkpoint alone
        }
    }

    /** As a crash: the caller has dropped the store; workers stop without recording anything. */
    void crash() {
        crashed = true;
        close();
    }

    private String newId() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return "j-" + HexFormat.of().formatHex(b);
    }

    static String kindName(JobKind k) {
        return k.name().substring("JOB_KIND_".length()).toLowerCase();
    }
}
