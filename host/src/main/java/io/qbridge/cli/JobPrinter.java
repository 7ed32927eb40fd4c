package io.qbridge.cli;

import io.qbridge.client.*;

import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobState;
import java.io.PrintStream;
import java.time.Instant;

/** How jobs and their events read on a terminal: names without the protobuf prefixes, progress in tenths. */
final class JobPrinter {
    private double lastFraction = -1;

    static String state(JobState s) {
        return s == JobState.UNRECOGNIZED ? "UNKNOWN" : s.name().substring("JOB_STATE_".length());
    }

    static String kind(JobKind k) {
        return k == JobKind.UNRECOGNIZED ? "unknown" : k.name().substring("JOB_KIND_".length()).toLowerCase();
    }

    static String time(long millis) {
        return millis == 0 ? "-" : Instant.ofEpochMilli(millis).toString();
    }

    /** Status lines on stderr while waiting: transitions, log lines, and progress every 10%. */
    void event(PrintStream err, JobEvent e) {
        switch (e.getEventCase()) {
            case SNAPSHOT -> err.printf("job %s: %s%n", e.getJobId(), state(e.getSnapshot().getState()));
            case STATE -> err.printf("job %s: %s%n", e.getJobId(), state(e.getState()));
            case LOG_LINE -> err.printf("job %s: %s%n", e.getJobId(), e.getLogLine());
            case ERROR -> err.printf("job %s: error: %s%n", e.getJobId(), e.getError());
            case PROGRESS -> {
                double f = e.getProgress().getFraction();
                if (f >= 1 || f - lastFraction >= 0.1) {
                    lastFraction = f;
                    long eta = e.getProgress().getEtaMillis();
                    err.printf("job %s: %3.0f%%%s%n", e.getJobId(), f * 100, eta >= 0 && f < 1 ? String.format(" (about %.0f s left)", eta / 1000.0) : "");
                }
            }
            default -> { }
        }
    }

    static void details(PrintStream out, Job j) {
        out.printf("job       %s%nkind      %s%nclient    %s%nstate     %s%npriority  %d%nattempts  %d%ncreated   %s%nstarted   %s%nfinished  %s%n", j.getId(),
                kind(j.getKind()), j.getClient(), state(j.getState()), j.getPriority(), j.getAttempts(), time(j.getCreatedMillis()), time(j.getStartedMillis()),
                time(j.getFinishedMillis()));
        if (!j.getError().isEmpty()) out.printf("error     %s%n", j.getError());
        if (j.getResult().hasQuantize()) {
            var q = j.getResult().getQuantize();
            out.printf("artifact  %s (%,d bytes, sha256 %s), %d layers, %.3f bits/weight%n", q.getContainer().getName(), q.getContainer().getSize(),
                    q.getContainer().getSha256(), q.getLayers(), q.getBitsPerWeight());
        }
        if (j.getResult().hasRun()) {
            var r = j.getResult().getRun();
            out.printf("result    %d embeddings of %d dimensions (%s)%n", r.getEmbeddingsCount(), r.getDim(), r.getModel());
        }
    }
}
