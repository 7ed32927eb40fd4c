package io.qbridge.server;

import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;

/** The Java-side view of one row of the jobs table. {@code seq} orders jobs by submission; {@code timeoutMillis} 0 is no limit. */
public record StoredJob(long seq, String id, String client, JobKind kind, JobSpec spec, JobState state, int priority, long created, long started,
        long finished, String error, JobResult result, int attempts, String requestId, long timeoutMillis) {

    public boolean isFinal() {
        return isFinal(state);
    }

    public static boolean isFinal(JobState s) {
        return s == JobState.JOB_STATE_SUCCEEDED || s == JobState.JOB_STATE_FAILED || s == JobState.JOB_STATE_CANCELLED;
    }

    /** Jobs whose work has no effect outside the server until they succeed, so running them twice is harmless. */
    public static boolean safeToRepeat(JobKind kind) {
        return kind == JobKind.JOB_KIND_QUANTIZE || kind == JobKind.JOB_KIND_RUN || kind == JobKind.JOB_KIND_EVAL || kind == JobKind.JOB_KIND_GENERATE;
    }

    public Job toProto(boolean withSpecAndResult) {
        Job.Builder b = Job.newBuilder().setId(id).setClient(client).setKind(kind).setState(state).setPriority(priority).setCreatedMillis(created)
                .setStartedMillis(started).setFinishedMillis(finished).setAttempts(attempts)
                .setRunTimeoutMillis(timeoutMillis);
        if (error != null) b.setError(error);
        if (withSpecAndResult) {
            b.setSpec(spec);
            if (result != null) b.setResult(result);
        }
        return b.build();
    }
}
