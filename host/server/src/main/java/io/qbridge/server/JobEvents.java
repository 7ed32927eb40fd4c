package io.qbridge.server;

import io.qbridge.protocol.v1.JobEvent;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.function.Consumer;

/** Live events of running jobs, fanned out to whoever watches them (the durable copy is in {@link JobStore}). */
public final class JobEvents {
    private final Map<String, Set<Consumer<JobEvent>>> listeners = new ConcurrentHashMap<>();

    public Runnable subscribe(String jobId, Consumer<JobEvent> listener) {
        listeners.computeIfAbsent(jobId, k -> new CopyOnWriteArraySet<>()).add(listener);
        return () -> listeners.computeIfPresent(jobId, (k, set) -> {
            set.remove(listener);
            return set.isEmpty() ? null : set;
        });
    }

    /** The jobs someone here watches now. */
    public Set<String> watchedJobs() {
        return Set.copyOf(listeners.keySet());
    }

    public void publish(JobEvent e) {
        Set<Consumer<JobEvent>> set = listeners.get(e.getJobId());
        if (set == null) return;
        for (Consumer<JobEvent> l : set) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                // one broken watcher must not stop the job or the others
                ServerLog.info("watcher of %s failed: %s", e.getJobId(), ex);
            }
        }
    }
}
