package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.ServerCallStreamObserver;
import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The order a watch stream keeps when progress arrives apart from state events (fleet mode relays another
 * server's progress by polling): progress is shown only while the stream's last state is RUNNING.
 */
class WatchSessionTest {
    /** The stream as the client would receive it, on one thread (WatchSession writes under its own lock). */
    static final class Recording extends ServerCallStreamObserver<JobEvent> {
        final List<JobEvent> sent = new ArrayList<>();
        boolean completed;

        public void onNext(JobEvent e) { sent.add(e); }
        public void onError(Throwable t) { throw new AssertionError(t); }
        public void onCompleted() { completed = true; }
        public boolean isCancelled() { return false; }
        public void setOnCancelHandler(Runnable r) {}
        public void setCompression(String c) {}
        public boolean isReady() { return true; }
        public void setOnReadyHandler(Runnable r) {}
        public void disableAutoInboundFlowControl() {}
        public void request(int n) {}
        public void setMessageCompression(boolean b) {}
    }

    private static JobEvent progress(double f) {
        return JobEvent.newBuilder().setJobId("j-1").setProgress(Progress.newBuilder().setFraction(f).setEtaMillis(5)).build();
    }

    @Test
    void progressBeforeRunningOrAfterTheEndIsNotShown(@TempDir Path dir) throws Exception {
        try (JobStore store = JobStore.open(dir)) {
            store.insert("j-1", "c", JobKind.JOB_KIND_RUN, QbridgeClient.runSpec("minilm", List.of("x")), 0, 1, null);
            JobEvents events = new JobEvents();
            Recording out = new Recording();
            new WatchSession("j-1", store, events, out).start();
            assertEquals(JobState.JOB_STATE_QUEUED, out.sent.getFirst().getSnapshot().getState());

            events.publish(progress(0.2)); // relayed before the RUNNING event it follows
            events.publish(JobStore.stateEvent("j-1", JobState.JOB_STATE_RUNNING));
            events.publish(progress(0.5));
            events.publish(progress(0.9));
            for (JobEvent e : JobStore.finalEvents("j-1", JobState.JOB_STATE_SUCCEEDED, null, null)) events.publish(e);
            events.publish(progress(1.0)); // after the end

            List<String> shown = out.sent.stream().skip(1).map(e -> e.hasProgress() ? "p" + e.getProgress().getFraction() : e.getState().name()).toList();
            assertEquals(List.of("JOB_STATE_RUNNING", "p0.5", "p0.9", "JOB_STATE_SUCCEEDED"), shown);
            assertTrue(out.completed);
            assertTrue(events.watchedJobs().isEmpty(), "the finished stream unsubscribed");
        }
    }

    @Test
    void aWatchThatStartsWhileTheJobRunsShowsProgressAtOnce(@TempDir Path dir) throws Exception {
        try (JobStore store = JobStore.open(dir)) {
            store.insert("j-1", "c", JobKind.JOB_KIND_RUN, QbridgeClient.runSpec("minilm", List.of("x")), 0, 1, null);
            store.claim("host", List.of(""), 2, 60_000).orElseThrow();
            JobEvents events = new JobEvents();
            Recording out = new Recording();
            new WatchSession("j-1", store, events, out).start();
            assertEquals(JobState.JOB_STATE_RUNNING, out.sent.getFirst().getSnapshot().getState());
            assertEquals(java.util.Set.of("j-1"), events.watchedJobs());
            events.publish(progress(0.3));
            assertEquals(0.3, out.sent.getLast().getProgress().getFraction());
        }
    }
}
