package io.qbridge.server;

import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.Progress;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The queue and the workers. The queue is the jobs table itself: a dispatcher thread claims the next
 * runnable job from the store ({@link JobStore#claim}) whenever one of this server's devices has a free
 * slot, so several servers on one shared store (fleet mode) divide the work between them, each taking
 * only jobs its own devices can run. A job is acknowledged only once its row is durable.
 *
 * <p>Devices and slots: host and emulator jobs share {@code workers} slots; each board has one slot of its
 * own. A free slot asks the store for the highest-priority, oldest job its device satisfies, so a board
 * runs its jobs one at a time in priority then submission order, and a busy board never holds up host
 * jobs.
 *
 * <p>Leases: a heartbeat renews the lease of every job this server runs, picks up cancels that reached
 * another server, stops jobs whose lease this server lost, and takes over the running jobs of servers
 * whose leases ran out (they are marked INTERRUPTED and, when safe to repeat, queued again). At start the
 * jobs a previous run of this server left RUNNING are taken back at once (with the embedded store, all
 * RUNNING jobs: nobody else can be running them).
 *
 * <p>Fleet mode, for clients of other servers: a job's artifacts are copied into the shared database
 * ({@link SharedArtifacts}) before it is recorded SUCCEEDED; its progress is stored in its row, throttled,
 * and the heartbeat relays the stored events and progress of other servers' jobs to the watchers here
 * (both through {@link FleetRelay}).
 *
 * <p>Every state change goes through the store with a condition on the previous state and, for running
 * jobs, on the owner and attempt, so a cancel racing a worker, or two servers racing for a job, resolve to
 * exactly one winner.
 */
public final class JobScheduler implements AutoCloseable {
    /** Thrown by {@link #submit} when {@code maxQueued} jobs are already waiting. */
    public static final class QueueFullException extends Exception {
        private static final long serialVersionUID = 1L;

        QueueFullException(int max) {
            super("the queue is full (" + max + " jobs waiting); retry later");
        }
    }

    /**
     * How this server takes part in the queue.
     *
     * @param hostId         this server's name as the owner of claimed jobs; unique among servers sharing a store
     * @param workers        host/emulator jobs run at once
     * @param maxQueued      submits beyond this many waiting jobs (in the whole store) get RESOURCE_EXHAUSTED
     * @param leaseMillis    how long a claim holds without renewal; a dead server's jobs are taken over after it
     * @param heartbeatMillis how often leases are renewed and cancels of other servers are picked up
     * @param pollMillis     how often an idle dispatcher looks for jobs other servers queued
     */
    public record Settings(String hostId, int workers, int maxQueued, long leaseMillis, long heartbeatMillis, long pollMillis) {
        public Settings {
            if (hostId == null || hostId.isBlank() || hostId.length() > 200) throw new IllegalArgumentException("host id: 1 to 200 characters");
            if (workers < 1) throw new IllegalArgumentException("workers must be at least 1");
            if (maxQueued < 1) throw new IllegalArgumentException("the queue must hold at least one job");
            if (heartbeatMillis < 1 || pollMillis < 1) throw new IllegalArgumentException("heartbeat and poll periods must be positive");
            if (leaseMillis < 3 * heartbeatMillis) throw new IllegalArgumentException("the lease (" + leaseMillis + " ms) must be at least three heartbeats (" + heartbeatMillis + " ms)");
        }

        public static Settings of(String hostId, int workers, int maxQueued) {
            return new Settings(hostId, workers, maxQueued, DEFAULT_LEASE_MILLIS, DEFAULT_HEARTBEAT_MILLIS, DEFAULT_POLL_MILLIS);
        }

        public Settings withLease(long leaseMillis, long heartbeatMillis) {
            return new Settings(hostId, workers, maxQueued, leaseMillis, heartbeatMillis, pollMillis);
        }
    }

    public static final long DEFAULT_LEASE_MILLIS = 30_000;
    /** Also bounds how long a cancel sent to another server takes to reach the owner. */
    public static final long DEFAULT_HEARTBEAT_MILLIS = 500;
    public static final long DEFAULT_POLL_MILLIS = 250;

    /** The in-memory side of a running job: its cancel and lease-lost flags. */
    private static final class Running {
        final int attempt;
        final long claimedNanos = System.nanoTime();
        volatile boolean cancelled;
        volatile boolean lost;
        /** The work has returned; what is left is recording the outcome, guarded by owner and attempt. */
        volatile boolean ended;

        Running(int attempt) {
            this.attempt = attempt;
        }
    }

    private final JobStore store;
    private final ArtifactStore artifacts;
    /** Where a job gets a stored file it names (fleet: copied from the shared database when this server lacks it). */
    private final UploadedModels.Source storedFiles;
    private final JobEvents events;
    private final JobExecutor executor;
    private final List<ComputeDevice> devices;
    private final Settings settings;
    private final Map<String, Running> running = new ConcurrentHashMap<>();
    /** Guarded by {@code this}: host/emulator jobs running, and the boards that are busy. */
    private int poolBusy;
    private final Set<String> boardsBusy = new HashSet<>();
    private final LinkedBlockingQueue<Boolean> wake = new LinkedBlockingQueue<>();
    private final ExecutorService pool;
    private final Thread dispatcher;
    private final ScheduledExecutorService heartbeat;
    private final SecureRandom random = new SecureRandom();
    private final Object submitLock = new Object();
    /** Fleet mode: other servers' events and progress in, this server's progress out. */
    private final FleetRelay relay;
    private volatile boolean stopping;
    private volatile boolean crashed;

    /** @param devices this server's devices; one of them must be the host path */
    public JobScheduler(JobStore store, ArtifactStore artifacts, JobEvents events, JobExecutor executor, List<ComputeDevice> devices, Settings settings) {
        if (devices.stream().noneMatch(d -> d.kind() == io.qbridge.protocol.v1.DeviceKind.DEVICE_KIND_HOST)) {
            throw new IllegalArgumentException("a server needs the host path among its devices");
        }
        if (devices.stream().map(ComputeDevice::id).distinct().count() != devices.size()) throw new IllegalArgumentException("device ids must be unique");
        this.store = store;
        this.artifacts = artifacts;
        this.storedFiles = UploadedModels.source(artifacts, store.sharedArtifacts().orElse(null));
        this.events = events;
        this.executor = executor;
        this.devices = List.copyOf(devices);
        this.settings = settings;
        int boards = (int) devices.stream().filter(ComputeDevice::exclusive).count();
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(settings.workers() + boards, r -> daemon(r, "qbridge-worker-" + n.getAndIncrement()));
        this.dispatcher = daemon(this::dispatchLoop, "qbridge-dispatcher");
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "qbridge-heartbeat"));
        this.relay = new FleetRelay(store, events, settings.hostId(), () -> crashed);
        store.originateAs(settings.hostId());
    }

    /** A host id for a server: the machine's name and the port (or, for port 0, the process id). */
    public static String defaultHostId(int port) {
        String name;
        try {
            name = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            name = "localhost";
        }
        return name + (port > 0 ? ":" + port : "-pid" + ProcessHandle.current().pid());
    }

    public List<ComputeDevice> devices() {
        return devices;
    }

    public Settings settings() {
        return settings;
    }

    /**
     * Takes back what a previous run of this server left RUNNING (the embedded store: every RUNNING job),
     * then starts the dispatcher and the heartbeat. Returns the ids that were interrupted.
     */
    public List<String> start() throws SQLException {
        List<JobStore.Interrupted> taken = store.interruptRunning(store.shared() ? settings.hostId() : null, false, "the server stopped while the job ran");
        for (JobStore.Interrupted t : taken) recordInterrupted(t);
        relay.startAtLatestEvent();
        dispatcher.start();
        heartbeat.scheduleWithFixedDelay(this::beat, settings.heartbeatMillis(), settings.heartbeatMillis(), TimeUnit.MILLISECONDS);
        return taken.stream().map(JobStore.Interrupted::id).toList();
    }

    public StoredJob submit(String client, JobKind kind, JobSpec spec, int priority, String requestId) throws SQLException, QueueFullException {
        return submit(client, kind, spec, priority, requestId, 0);
    }

    /** @param timeoutMillis the longest the job may run once started; 0 = no limit */
    public StoredJob submit(String client, JobKind kind, JobSpec spec, int priority, String requestId, long timeoutMillis)
            throws SQLException, QueueFullException {
        synchronized (submitLock) { // one submit at a time keeps this server's view of the queue bound exact
            if (requestId != null) {
                Optional<StoredJob> earlier = store.findByRequestId(client, requestId);
                if (earlier.isPresent()) return earlier.get();
            }
            if (store.countInState(JobState.JOB_STATE_QUEUED) >= settings.maxQueued()) throw new QueueFullException(settings.maxQueued());
            StoredJob j = store.insert(newId(), client, kind, spec, priority, System.currentTimeMillis(), requestId, timeoutMillis); // with its QUEUED event
            publish(j.id(), JobState.JOB_STATE_QUEUED);
            String dev = ComputeDevice.requiredBy(spec);
            ServerLog.info("job %s %s client=%s%s QUEUED", j.id(), kindName(kind), client, dev.isEmpty() ? "" : " device=" + dev);
            wake.offer(Boolean.TRUE);
            return j;
        }
    }

    /**
     * Cancels a queued job at once and asks a running one to stop at its next checkpoint: directly when
     * it runs here, through the store when another server runs it (its owner reads the request at its
     * next heartbeat). Idempotent.
     */
    public StoredJob cancel(String id) throws SQLException {
        if (store.cancelQueued(id, System.currentTimeMillis())) {
            publish(id, JobState.JOB_STATE_CANCELLED); // stored with the change
            ServerLog.info("job %s QUEUED->CANCELLED", id);
        } else {
            Running r = running.get(id);
            if (r != null) r.cancelled = true;
            else store.requestCancel(id);
        }
        return store.find(id).orElseThrow();
    }

    /** Claims jobs while a device has a free slot; sleeps until a slot frees, a job is submitted here, or the poll period passes. */
    private void dispatchLoop() {
        long backoff = 0; // after a store failure: wait longer each time (up to 10 s), log once per failure streak
        while (!stopping) {
            boolean claimed = false;
            try {
                claimed = claimOne();
                if (backoff > 0) ServerLog.info("dispatcher: the store answers again");
                backoff = 0;
            } catch (SQLException | RuntimeException e) {
                if (crashed || stopping) return;
                if (backoff == 0) ServerLog.info("dispatcher: the store failed, retrying: %s", e);
                backoff = Math.min(10_000, Math.max(settings.pollMillis(), backoff * 2));
            }
            if (claimed) continue;
            try {
                wake.poll(backoff > 0 ? backoff : settings.pollMillis(), TimeUnit.MILLISECONDS);
                wake.clear();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The requirements this server can take now: the {@link ComputeDevice#names names} of its devices with a free slot. */
    private synchronized List<String> acceptable() {
        Set<String> out = new LinkedHashSet<>();
        for (ComputeDevice d : devices) {
            boolean free = d.exclusive() ? !boardsBusy.contains(d.id()) : poolBusy < settings.workers();
            if (!free) continue;
            out.addAll(d.names());
        }
        return List.copyOf(out);
    }

    /** The free device for a claimed job, its slot taken; null if none is free (cannot happen: only the dispatcher takes slots). */
    private synchronized ComputeDevice occupy(String requirement) {
        for (ComputeDevice d : devices) {
            if (!d.satisfies(requirement)) continue;
            if (d.exclusive()) {
                if (boardsBusy.add(d.id())) return d;
            } else if (poolBusy < settings.workers()) {
                poolBusy++;
                return d;
            }
        }
        return null;
    }

    private synchronized void release(ComputeDevice d) {
        if (d.exclusive()) boardsBusy.remove(d.id());
        else poolBusy--;
        wake.offer(Boolean.TRUE);
    }

    private boolean claimOne() throws SQLException {
        List<String> accept = acceptable();
        if (accept.isEmpty()) return false;
        Optional<StoredJob> claimed = store.claim(settings.hostId(), accept, System.currentTimeMillis(), settings.leaseMillis());
        if (claimed.isEmpty()) return false;
        StoredJob job = claimed.get();
        ComputeDevice device = occupy(ComputeDevice.requiredBy(job.spec()));
        Running r = new Running(job.attempts());
        running.put(job.id(), r);
        if (device == null) { // a bug, not a race: give the job back rather than overfill a device
            running.remove(job.id());
            recordInterrupted(new JobStore.Interrupted(job.id(), store.interrupt(job.id(), settings.hostId(), job.attempts(), "no free device on " + settings.hostId())));
            return false;
        }
        pool.execute(() -> {
            try {
                runOne(job, device, r);
            } catch (SQLException | RuntimeException e) {
                if (!crashed) ServerLog.info("job %s: the store failed: %s", job.id(), e);
            } finally {
                running.remove(job.id());
                release(device);
            }
        });
        return true;
    }

    private void runOne(StoredJob job, ComputeDevice device, Running r) throws SQLException {
        String id = job.id();
        String owner = settings.hostId();
        publish(id, JobState.JOB_STATE_RUNNING); // the claim stored it
        ServerLog.info("job %s %s client=%s QUEUED->RUNNING on %s/%s (attempt %d)", id, kindName(job.kind()), job.client(), owner, device.id(), job.attempts());
        Context ctx = new Context(id, r, device, System.nanoTime(), job.timeoutMillis());
        JobResult result;
        try {
            result = executor.execute(job, ctx);
        } catch (JobAbortedException e) {
            r.ended = true;
            if (crashed) return;
            if (r.lost) {
                ServerLog.info("job %s: stopped here, its lease was lost and another server took it over", id);
            } else if (e.reason() == JobAbortedException.Reason.SHUTDOWN) {
                JobState to = store.interrupt(id, owner, r.attempt, "the server stopped while the job ran");
                if (to != null) {
                    recordInterrupted(new JobStore.Interrupted(id, to));
                    ServerLog.info("job %s RUNNING->INTERRUPTED%s", id, to == JobState.JOB_STATE_QUEUED ? "->QUEUED (runs again)" : "");
                }
            } else if (e.reason() == JobAbortedException.Reason.DEADLINE) {
                finish(job, r, JobState.JOB_STATE_FAILED, "deadline exceeded: ran longer than " + job.timeoutMillis() + " ms", null);
            } else {
                finish(job, r, JobState.JOB_STATE_CANCELLED, null, null);
            }
            return;
        } catch (Throwable e) { // any failure of the work fails the job, never the worker
            r.ended = true;
            if (crashed) return;
            finish(job, r, JobState.JOB_STATE_FAILED, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), null);
            return;
        }
        if (!crashed && !r.lost && store.shared()) {
            try {
                shareArtifacts(result);
            } catch (SQLException | java.io.IOException e) {
                r.ended = true;
                ServerLog.info("job %s: its artifacts could not be copied into the shared database: %s", id, e);
                finish(job, r, JobState.JOB_STATE_FAILED, "its artifacts could not be copied into the shared database: " + e.getMessage(), null);
                return;
            }
        }
        r.ended = true;
        if (crashed) return;
        if (finish(job, r, JobState.JOB_STATE_SUCCEEDED, null, result)) {
            ServerLog.info("job %s RUNNING->SUCCEEDED in %.1f s", id, (System.nanoTime() - ctx.startNanos) / 1e9);
        }
    }

    /**
     * Fleet mode: copies the job's artifacts from the local store into the shared database before the job
     * is recorded SUCCEEDED, so whoever sees it succeed can fetch them through any server.
     */
    private void shareArtifacts(JobResult result) throws SQLException, java.io.IOException {
        SharedArtifacts shared = store.sharedArtifacts().orElseThrow();
        for (io.qbridge.protocol.v1.Artifact a : JobArtifacts.of(result)) shared.put(a.getSha256(), artifacts.path(a.getSha256()));
    }

    /** Records the outcome if this server still holds the job, with its events, and tells watchers here. */
    private boolean finish(StoredJob job, Running r, JobState state, String error, JobResult result) throws SQLException {
        if (!store.finish(job.id(), settings.hostId(), r.attempt, state, System.currentTimeMillis(), error, result)) {
            ServerLog.info("job %s: ended here as %s, but its lease was lost and another server took it over; this outcome is dropped", job.id(),
                    state.name().substring("JOB_STATE_".length()));
            return false;
        }
        for (JobEvent e : JobStore.finalEvents(job.id(), state, error, result)) events.publish(e);
        if (state != JobState.JOB_STATE_SUCCEEDED) {
            ServerLog.info("job %s RUNNING->%s%s", job.id(), state.name().substring("JOB_STATE_".length()), error == null ? "" : ": " + error);
        }
        return true;
    }

    /** One heartbeat: renew leases, pass on cancels from other servers, notice lost leases, take over expired ones. */
    private void beat() {
        if (crashed) return;
        try {
            long renewedFrom = System.nanoTime();
            Map<String, JobStore.Lease> held = new HashMap<>();
            for (JobStore.Lease l : store.renew(settings.hostId(), settings.leaseMillis())) held.put(l.id(), l);
            for (Map.Entry<String, Running> e : running.entrySet()) {
                // a job claimed after the renewal read, or one whose work has ended, is not judged by it
                if (e.getValue().ended || e.getValue().claimedNanos - renewedFrom > 0) continue;
                JobStore.Lease l = held.get(e.getKey());
                if (l == null || l.attempt() != e.getValue().attempt) {
                    if (!e.getValue().lost) ServerLog.info("job %s: lease lost (another server took it over); stopping it here", e.getKey());
                    e.getValue().lost = true;
                } else if (l.cancelRequested()) {
                    e.getValue().cancelled = true;
                }
            }
            if (stopping) return;
            List<JobStore.Interrupted> taken = store.interruptRunning(null, true, "its server stopped renewing the lease");
            for (JobStore.Interrupted t : taken) {
                recordInterrupted(t);
                ServerLog.info("job %s RUNNING->INTERRUPTED%s: the lease of its server ran out", t.id(), t.to() == JobState.JOB_STATE_QUEUED ? "->QUEUED" : "");
            }
            if (!taken.isEmpty()) wake.offer(Boolean.TRUE);
            if (store.shared()) relay.relay(running.keySet());
        } catch (SQLException | RuntimeException e) {
            if (!crashed) ServerLog.info("heartbeat: the store failed: %s", e);
        }
    }

    /** Tells watchers here about a job the store interrupted (the store wrote the events with the change). */
    private void recordInterrupted(JobStore.Interrupted t) {
        if (t.to() == null) return;
        publish(t.id(), JobState.JOB_STATE_INTERRUPTED);
        if (t.to() == JobState.JOB_STATE_QUEUED) publish(t.id(), JobState.JOB_STATE_QUEUED);
    }

    private void publish(String id, JobState state) {
        events.publish(JobStore.stateEvent(id, state));
    }

    private void publishAndStore(JobEvent e) throws SQLException {
        store.appendEvent(e);
        events.publish(e);
    }

    private final class Context implements JobContext {
        private final String id;
        private final Running running;
        private final ComputeDevice device;
        final long startNanos;
        private final long deadlineNanos; // Long.MAX_VALUE: none
        private final FleetRelay.ProgressWrites progressWrites;

        Context(String id, Running running, ComputeDevice device, long startNanos, long timeoutMillis) {
            this.id = id;
            this.running = running;
            this.device = device;
            this.startNanos = startNanos;
            this.deadlineNanos = timeoutMillis > 0 ? startNanos + TimeUnit.MILLISECONDS.toNanos(timeoutMillis) : Long.MAX_VALUE;
            this.progressWrites = relay.progressWrites(id, running.attempt);
        }

        public String jobId() { return id; }
        public ArtifactStore artifacts() { return artifacts; }
        public boolean ensureStored(String sha256) throws java.io.IOException { return storedFiles.fetch(sha256); }
        public ComputeDevice device() { return device; }

        public void progress(double fraction, String stage) {
            long elapsedMs = (System.nanoTime() - startNanos) / 1_000_000;
            long eta = fraction <= 0 ? -1 : Math.round(elapsedMs * (1 - fraction) / fraction);
            Progress p = Progress.newBuilder().setFraction(fraction).setStage(stage).setEtaMillis(eta).build();
            JobEvent e = JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis()).setProgress(p).build();
            events.publish(e); // watchers here: every report, directly
            if (store.shared()) progressWrites.store(e, fraction >= 1);
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
            if (running.cancelled || running.lost) throw new JobAbortedException(JobAbortedException.Reason.CANCELLED);
            if (deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos > 0) throw new JobAbortedException(JobAbortedException.Reason.DEADLINE);
        }
    }

    /**
     * Stops taking jobs, stops running ones at their next checkpoint (they are given back to the queue),
     * waits for the workers, and only then stops renewing leases.
     */
    @Override
    public void close() {
        stopping = true;
        wake.offer(Boolean.TRUE);
        try {
            dispatcher.join(TimeUnit.SECONDS.toMillis(10));
            pool.shutdown();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stop waiting; the workers are daemons and finish their checkpoint alone
        }
        heartbeat.shutdownNow();
    }

    /** As a crash: the caller has dropped the store; nothing more is recorded and leases are no longer renewed. */
    void crash() {
        crashed = true;
        close();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
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
