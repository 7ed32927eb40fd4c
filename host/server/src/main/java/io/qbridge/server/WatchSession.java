package io.qbridge.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobState;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * One WatchJob call: the job's snapshot, then its live events until a final state.
 *
 * <p>It subscribes before reading the snapshot, so no transition falls between the two; events that
 * arrive before the snapshot is sent are held and sent after it (a watcher may therefore see a state
 * it already has in the snapshot, never miss one). The stream observer is not thread-safe: every write
 * happens under this object's lock. Ending the call does not touch the job.
 *
 * <p>Progress is shown only while the last state the stream showed is RUNNING: progress of a job running
 * on another server of a fleet is relayed by polling, apart from its state events, so without this rule
 * it could overtake the RUNNING event it follows.
 */
final class WatchSession {
    private final String jobId;
    private final JobStore store;
    private final JobEvents events;
    private final ServerCallStreamObserver<JobEvent> out;
    private final List<JobEvent> early = new ArrayList<>();
    private boolean snapshotSent;
    private boolean done;
    /** The last state this stream showed (the snapshot's, then each state event's). */
    private JobState shown = JobState.JOB_STATE_UNSPECIFIED;
    private Runnable unsubscribe;

    WatchSession(String jobId, JobStore store, JobEvents events, ServerCallStreamObserver<JobEvent> out) {
        this.jobId = jobId;
        this.store = store;
        this.events = events;
        this.out = out;
    }

    void start() {
        out.setOnCancelHandler(this::stop);
        unsubscribe = events.subscribe(jobId, this::onEvent);
        StoredJob snapshot;
        try {
            snapshot = store.find(jobId).orElseThrow();
        } catch (SQLException e) {
            synchronized (this) {
                finish();
                out.onError(Status.INTERNAL.withDescription("the job store failed").asRuntimeException());
            }
            return;
        }
        synchronized (this) {
            if (done) return;
            out.onNext(JobEvent.newBuilder().setJobId(jobId).setTimeMillis(System.currentTimeMillis()).setSnapshot(snapshot.toProto(true)).build());
            snapshotSent = true;
            shown = snapshot.state();
            if (snapshot.isFinal()) {
                complete();
                return;
            }
            for (JobEvent e : early) if (!deliver(e)) return;
            early.clear();
        }
    }

    private synchronized void onEvent(JobEvent e) {
        if (done) return;
        if (!snapshotSent) {
            early.add(e);
            return;
        }
        deliver(e);
    }

    /** Sends one event; false once the stream ended with it. */
    private boolean deliver(JobEvent e) {
        if (e.hasProgress() && shown != JobState.JOB_STATE_RUNNING) return true; // see the class comment
        if (e.hasState()) shown = e.getState();
        out.onNext(e);
        if (e.hasState() && StoredJob.isFinal(e.getState())) {
            complete();
            return false;
        }
        if (e.hasState() && e.getState() == JobState.JOB_STATE_INTERRUPTED) {
            // the server is stopping or the job will not run again here: the watch ends, the job stays
            complete();
            return false;
        }
        return true;
    }

    private void complete() {
        finish();
        out.onCompleted();
    }

    private synchronized void stop() {
        finish();
    }

    private void finish() {
        done = true;
        if (unsubscribe != null) unsubscribe.run();
    }
}
