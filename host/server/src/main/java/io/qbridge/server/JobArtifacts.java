package io.qbridge.server;

import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.JobResult;
import java.util.ArrayList;
import java.util.List;

/** The files a job produced, its main artifact first: what DownloadArtifact serves and nothing else. */
final class JobArtifacts {
    private JobArtifacts() {}

    static List<Artifact> of(JobResult r) {
        List<Artifact> out = new ArrayList<>();
        if (r == null) return out;
        switch (r.getKindCase()) {
            case QUANTIZE -> out.add(r.getQuantize().getContainer());
            case BENCH -> {
                if (r.getBench().hasJson()) out.add(r.getBench().getJson());
                if (r.getBench().hasChart()) out.add(r.getBench().getChart());
            }
            case EVAL -> {
                if (r.getEval().hasJson()) out.add(r.getEval().getJson());
            }
            case RUN, DECODER_EVAL, GENERATE, KIND_NOT_SET -> { }
        }
        return out;
    }
}
