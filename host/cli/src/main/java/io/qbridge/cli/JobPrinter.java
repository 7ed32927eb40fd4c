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
        if (j.getResult().hasBench()) {
            var b = j.getResult().getBench();
            out.printf("result    bench of %s %s on %s%s: model forward p50 %.1f ms, device %.3f ms and %.3f mJ per forward%n", b.getModel(), b.getFormat(),
                    b.getDevice().getDescription(), b.getFellBack() ? " (after falling back)" : "", b.getModelSeconds().getP50() * 1e3,
                    b.getPerForward().getDeviceSeconds() * 1e3, b.getPerForward().getEnergyJoules() * 1e3);
            out.printf("artifacts %s (sha256 %s), %s (sha256 %s)%n", b.getJson().getName(), b.getJson().getSha256(), b.getChart().getName(), b.getChart().getSha256());
        }
        if (j.getResult().hasEval()) {
            var e = j.getResult().getEval();
            out.printf("result    eval of %s: %d formats on %d held-out / %d retrieval sentences%n", e.getModel(), e.getRowsCount(), e.getHeldOut(), e.getRetrieval());
            out.printf("artifact  %s (sha256 %s)%n", e.getJson().getName(), e.getJson().getSha256());
        }
        if (j.getResult().hasDecoderEval()) {
            var e = j.getResult().getDecoderEval();
            out.printf("result    perplexity %.5g of %s (%s) on %d tokens, windows of %d positions%n", e.getPerplexity(), e.getModel(), e.getFormat(), e.getTokens(), e.getWindow());
        }
        if (j.getResult().hasGenerate()) {
            var g = j.getResult().getGenerate();
            out.printf("result    %d tokens from %s on %s, %.2f tok/s%n", g.getTokensCount(), g.getModel(), g.getDevice(), g.getTokensPerSecond());
        }
        if (j.getResult().hasRun()) {
            var r = j.getResult().getRun();
            out.printf("result    %d embeddings of %d dimensions (%s)%n", r.getEmbeddingsCount(), r.getDim(), r.getModel());
        }
    }

    /** A bench result for a reader: the model forward's percentiles, the modelled device cost, and one line per layer. */
    static void bench(PrintStream out, io.qbridge.protocol.v1.BenchResult r) {
        out.printf("bench: %s %s on %s%s, %d sentences, %d runs after %d warm-up%n", r.getModel(), r.getFormat(), r.getDevice().getDescription(),
                r.getFellBack() ? " (fallback: the requested device failed)" : "", r.getSentences(), r.getRuns(), r.getWarmup());
        var m = r.getModelSeconds();
        out.printf("model forward (host wall): p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  (%.1f sentences/s at p50)%n", m.getP50() * 1e3, m.getP95() * 1e3,
                m.getP99() * 1e3, r.getSentences() / m.getP50());
        if (r.hasFp32Seconds()) {
            var f = r.getFp32Seconds();
            out.printf("fp32 host forward:         p50 %.1f ms  p95 %.1f ms  p99 %.1f ms;  device/fp32 ratio at p50 = %.3f%n", f.getP50() * 1e3,
                    f.getP95() * 1e3, f.getP99() * 1e3, m.getP50() / f.getP50());
        }
        var d = r.getPerForward();
        out.printf("device (modelled) per forward: %.3f ms, %,d cycles, %.1f MB moved, %.3f mJ, %d compute-bound / %d memory-bound layer runs%n",
                d.getDeviceSeconds() * 1e3, d.getDeviceCycles(), d.getBytesMoved() / 1e6, d.getEnergyJoules() * 1e3, d.getComputeBoundRuns(), d.getMemoryBoundRuns());
        out.printf("%-42s %9s %9s %9s %11s %9s%n", "layer (host µs per forward)", "p50", "p95", "p99", "device µs", "bound");
        for (var l : r.getLayersList()) {
            out.printf("%-42s %9.1f %9.1f %9.1f %11.2f %9s%n", l.getName(), l.getHost().getP50() * 1e6, l.getHost().getP95() * 1e6, l.getHost().getP99() * 1e6,
                    l.getDevice().getDeviceSeconds() * 1e6, l.getDevice().getMemoryBoundRuns() > 0 ? "memory" : "compute");
        }
        out.printf("artifacts %s (%,d bytes), %s (%,d bytes)%n", r.getJson().getName(), r.getJson().getSize(), r.getChart().getName(), r.getChart().getSize());
    }

    /** The rows of a remote eval as the local table takes them (the doubles travel exactly). */
    static java.util.List<io.qbridge.pipeline.EncoderEvaluator.Row> evalRows(io.qbridge.protocol.v1.EvalResult r) {
        return r.getRowsList().stream().map(x -> new io.qbridge.pipeline.EncoderEvaluator.Row(x.getFormat(), x.getBitsPerWeight(), x.getPackedBytes(),
                x.getWeightSqnrDb(), x.getLayerOutputError(), x.getMeanCosine(), x.getRecallAt10(), x.getQuantizeSeconds())).toList();
    }

    /** A remote decoder eval as the local table's row (the doubles travel exactly). */
    static io.qbridge.pipeline.DecoderEvaluator.ContainerRow decoderEvalRow(io.qbridge.protocol.v1.DecoderEvalResult r) {
        return new io.qbridge.pipeline.DecoderEvaluator.ContainerRow(r.getFormat(), r.getBitsPerWeight(), r.getPackedBytes(), r.getTokens(), r.getWindow(), r.getPerplexity());
    }
}
