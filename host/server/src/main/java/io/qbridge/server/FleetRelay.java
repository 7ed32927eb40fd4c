package io.qbridge.server;

import io.qbridge.protocol.v1.JobEvent;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Fleet mode's traffic between servers through the shared job table, for clients watching a job through
 * another server than the one running it. Outbound: a running job's progress goes to its row, throttled
 * ({@link #PROGRESS_STORE_INTERVAL_NANOS}; events need no help, the store keeps them all). Inbound, once
 * per heartbeat of {@link JobScheduler}: the events and the stored progress of other servers' jobs are
 * passed to this server's watchers. The scheduler decides when; this class owns what is read, written
 * and passed on.
 */
final class FleetRelay {
    /** A running job's progress goes to the store at most this often (and always at 1.0), for watchers on other servers. */
    static final long PROGRESS_STORE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** Event relay: how far behind the highest sequence number passed on it is read again. */
    private static final long RELAY_WINDOW = 1000;

    private final JobStore store;
    private final JobEvents events;
    private final String hostId;
    /** True once the scheduler crashed: nothing more is logged. */
    private final BooleanSupplier crashed;
    /** Event relay (heartbeat thread only): the highest sequence number passed on, and those passed on within the window behind it. */
    private long relayedUpTo;
    private final TreeSet<Long> relayed = new TreeSet<>();
    /** Progress relay (heartbeat thread only): the last stored progress passed on, per job watched here and running elsewhere. */
    private final Map<String, JobEvent> progressRelayed = new HashMap<>();
    private volatile boolean progressStoreFailing;

    FleetRelay(JobStore store, JobEvents events, String hostId, BooleanSupplier crashed) {
        this.store = store;
        this.events = events;
        this.hostId = hostId;
        this.crashed = crashed;
    }

    /** At start: the events stored so far are history, not news to relay. */
    void startAtLatestEvent() throws SQLException {
        relayedUpTo = store.lastEventSeq();
    }

    /** One inbound pass (heartbeat thread only): other servers' events and progress to the watchers here. */
    void relay(Set<String> runningHere) throws SQLException {
        // progress is read before the events: a progress read while its job runs was stored after
        // the RUNNING event committed, so the event relay below passes that event on first
        Map<String, JobEvent> progress = progressOfOthers(runningHere);
        relayEventsOfOthers();
        relayProgress(progress);
    }

    /**
     * Passes events other servers stored (their jobs' transitions, log lines, results) to this server's
     * watchers, so a client may watch any job through any server. Sequence numbers are handed out when a
     * row is inserted, not when it commits, so a window behind the highest one seen is read again and
     * events already passed on are skipped by number: a watcher may see an event late, never lose one.
     */
    private void relayEventsOfOthers() throws SQLException {
        List<Long> seqs = store.eventSeqsFromOthers(relayedUpTo - RELAY_WINDOW, hostId);
        List<Long> fresh = seqs.stream().filter(q -> !relayed.contains(q)).toList();
        if (fresh.isEmpty()) return;
        for (JobEvent e : store.eventsBySeq(fresh)) events.publish(e);
        relayed.addAll(fresh);
        relayedUpTo = Math.max(relayedUpTo, fresh.getLast());
        relayed.headSet(relayedUpTo - RELAY_WINDOW).clear();
    }

    /**
     * The progress other servers stored for the jobs they run, for those watched here only (an unwatched
     * fleet costs no query); this server's own jobs reach its watchers directly.
     */
    private Map<String, JobEvent> progressOfOthers(Set<String> runningHere) throws SQLException {
        Set<String> watched = new HashSet<>(events.watchedJobs());
        watched.removeAll(runningHere);
        return watched.isEmpty() ? Map.of() : store.progressOfOthers(watched, hostId);
    }

    /**
     * Passes that progress to this server's watchers, each stored report once. {@link WatchSession} shows
     * progress only after the job's RUNNING state, so nothing overtakes the state it follows.
     */
    private void relayProgress(Map<String, JobEvent> latest) {
        progressRelayed.keySet().retainAll(latest.keySet());
        for (Map.Entry<String, JobEvent> e : latest.entrySet()) {
            if (e.getValue().equals(progressRelayed.put(e.getKey(), e.getValue()))) continue;
            events.publish(e.getValue());
        }
    }

    /** The outbound progress of one job this server runs, in this attempt. */
    ProgressWrites progressWrites(String id, int attempt) {
        return new ProgressWrites(id, attempt);
    }

    /** Throttled writes of one running job's progress into its row. */
    final class ProgressWrites {
        private final String id;
        private final int attempt;
        private long progressStoredNanos;
        private boolean progressStored;

        private ProgressWrites(String id, int attempt) {
            this.id = id;
            this.attempt = attempt;
        }

        /**
         * The latest progress in the job's row for watchers on other servers, at most every
         * {@link #PROGRESS_STORE_INTERVAL_NANOS} and always the final one. Progress is advice: a store
         * failure here is logged (once per failure streak) and does not fail the job.
         */
        synchronized void store(JobEvent e, boolean last) {
            long now = System.nanoTime();
            if (!last && progressStored && now - progressStoredNanos < PROGRESS_STORE_INTERVAL_NANOS) return;
            progressStored = true;
            progressStoredNanos = now;
            try {
                store.saveProgress(id, hostId, attempt, e);
                progressStoreFailing = false;
            } catch (SQLException ex) {
                if (!progressStoreFailing && !crashed.getAsBoolean()) ServerLog.info("job %s: its progress could not be stored: %s", id, ex);
                progressStoreFailing = true;
            }
        }
    }
}
