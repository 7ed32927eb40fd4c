package io.qbridge.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.data.EvalCorpus;
import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.RunStats;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code qbridge bench}: latency percentiles of a quantized encoder on a device, per model forward and per
 * layer, over N runs of the fixed 64-sentence bench set after warm-up runs that are not counted.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Latency percentiles (p50/p95/p99) per model forward and per layer on a device, warm-up excluded.")
final class BenchCommand implements Callable<Integer> {
    @Mixin RunCommand.DeviceModelOptions options;

    @Option(names = "--runs", defaultValue = "10", paramLabel = "N", description = "Measured runs (default 10).")
    int runs;

    @Option(names = "--warmup", defaultValue = "3", paramLabel = "N", description = "Warm-up runs, not measured (default 3).")
    int warmup;

    @Option(names = "--compare-fp32", description = "Also time the FP32 host model on the same sentences (each run right after the device run) and print the ratio.")
    boolean compareFp32;

    @Option(names = "--json", description = "Print the results as JSON on stdout.")
    boolean json;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "Also write a PNG bar chart of the per-layer breakdown (host p50 and modelled device time).")
    java.nio.file.Path chart;

    @Override
    public Integer call() throws IOException {
        if (runs < 1) throw new Main.UserException("--runs must be >= 1");
        if (warmup < 0) throw new Main.UserException("--warmup must be >= 0");
        if (chart != null && chart.toAbsolutePath().getParent() != null && !java.nio.file.Files.isDirectory(chart.toAbsolutePath().getParent())) {
            throw new Main.UserException(chart + ": its directory does not exist");
        }
        List<String> sentences = EvalCorpus.split(EvalCorpus.Split.BENCH);
        try (Accelerator dev = options.open()) { // first: a missing device fails before minutes of quantization
            RunCommand.DeviceModelOptions.Prepared prep = options.prepare();
            RunStats stats = new RunStats();
            EncoderModel model = AcceleratorModels.onDevice(prep.base(), prep.layers(), dev, stats);
            List<int[]> ids = model.tokenize(sentences, null);
            long[] modelNanos = new long[runs];
            long[] fp32Nanos = compareFp32 ? new long[runs] : null;
            EncoderModel fp32 = prep.base(); // the FP32 model (a .qbz: its host model over the dequantized weights)
            Map<String, long[]> layerNanos = new LinkedHashMap<>();
            RunStats.Totals perForward = null;
            Map<String, RunStats.Totals> layerForward = null;
            for (int i = 0; i < warmup + runs; i++) {
                RunStats.Totals before = stats.total();
                Map<String, RunStats.Totals> lb = stats.perLayer();
                long t0 = System.nanoTime();
                model.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
                long dt = System.nanoTime() - t0;
                // the FP32 run right after the device run, so both see the same machine load
                long f0 = System.nanoTime();
                if (compareFp32) fp32.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
                long fdt = System.nanoTime() - f0;
                if (i < warmup) continue;
                int m = i - warmup;
                modelNanos[m] = dt;
                if (compareFp32) fp32Nanos[m] = fdt;
                perForward = stats.total().minus(before);
                layerForward = new LinkedHashMap<>();
                for (Map.Entry<String, RunStats.Totals> e : stats.perLayer().entrySet()) {
                    RunStats.Totals d = lb.containsKey(e.getKey()) ? e.getValue().minus(lb.get(e.getKey())) : e.getValue();
                    layerForward.put(e.getKey(), d);
                    layerNanos.computeIfAbsent(e.getKey(), k -> new long[runs])[m] = d.hostNanos();
                }
            }
            DeviceInfo info = dev.describe();
            if (json) writeJson(prep, info, sentences.size(), modelNanos, fp32Nanos, layerNanos, perForward, layerForward);
            else print(prep, info, sentences.size(), modelNanos, fp32Nanos, layerNanos, perForward, layerForward);
            if (chart != null) {
                List<LatencyChart.Bar> bars = new java.util.ArrayList<>();
                for (Map.Entry<String, long[]> e : layerNanos.entrySet()) {
                    bars.add(new LatencyChart.Bar(LatencyChart.shortLabel(e.getKey()), percentile(e.getValue(), 50) / 1e3,
                            layerForward.get(e.getKey()).deviceSeconds() * 1e6));
                }
                LatencyChart.write(chart, prep.name() + " " + prep.format() + " on " + info.name() + ": per-layer latency, " + sentences.size() + " sentences", bars);
                Log.info("wrote %s", chart);
            }
        }
        return 0;
    }

    /** Median of run i's device time over run i's FP32 time (each pair ran back to back). */
    static double medianRatio(long[] a, long[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = (double) a[i] / b[i];
        Arrays.sort(r);
        return r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
    }

    /** Nearest-rank percentile of a sample. */
    static long percentile(long[] v, double p) {
        long[] s = v.clone();
        Arrays.sort(s);
        int rank = (int) Math.ceil(p / 100 * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }

    private void print(RunCommand.DeviceModelOptions.Prepared prep, DeviceInfo info, int sentences, long[] model, long[] fp32,
                       Map<String, long[]> layers, RunStats.Totals fwd, Map<String, RunStats.Totals> layerFwd) {
        System.out.printf("bench: %s %s on %s, %d sentences, %d runs after %d warm-up%n", prep.name(), prep.format(), info.name(), sentences, runs, warmup);
        System.out.printf("model forward (host wall): p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  (%.1f sentences/s at p50)%n",
                percentile(model, 50) / 1e6, percentile(model, 95) / 1e6, percentile(model, 99) / 1e6, sentences / (percentile(model, 50) / 1e9));
        if (fp32 != null)
            System.out.printf("fp32 host forward:         p50 %.1f ms  p95 %.1f ms  p99 %.1f ms;  device/fp32 ratio at p50 = %.3f, median of per-run ratios = %.3f%n",
                    percentile(fp32, 50) / 1e6, percentile(fp32, 95) / 1e6, percentile(fp32, 99) / 1e6, (double) percentile(model, 50) / percentile(fp32, 50),
                    medianRatio(model, fp32));
        System.out.printf("device (modelled) per forward: %.3f ms, %,d cycles, %.1f MB moved, %.3f mJ, %d compute-bound / %d memory-bound layer runs%n",
                fwd.deviceSeconds() * 1e3, fwd.deviceCycles(), fwd.bytesMoved() / 1e6, fwd.energyJoules() * 1e3, fwd.computeBoundRuns(), fwd.memoryBoundRuns());
        System.out.printf("%-42s %9s %9s %9s %11s %9s%n", "layer (host µs per forward)", "p50", "p95", "p99", "device µs", "bound");
        for (Map.Entry<String, long[]> e : layers.entrySet()) {
            RunStats.Totals t = layerFwd.get(e.getKey());
            System.out.printf("%-42s %9.1f %9.1f %9.1f %11.2f %9s%n", e.getKey(), percentile(e.getValue(), 50) / 1e3, percentile(e.getValue(), 95) / 1e3,
                    percentile(e.getValue(), 99) / 1e3, t.deviceSeconds() * 1e6, t.memoryBoundRuns() > 0 ? "memory" : "compute");
        }
    }

    private void writeJson(RunCommand.DeviceModelOptions.Prepared prep, DeviceInfo info, int sentences, long[] model, long[] fp32,
                           Map<String, long[]> layers, RunStats.Totals fwd, Map<String, RunStats.Totals> layerFwd) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(System.out, JsonEncoding.UTF8)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            g.writeStartObject();
            g.writeStringField("model", prep.name());
            g.writeStringField("format", prep.format());
            g.writeNumberField("sentences", sentences);
            g.writeNumberField("runs", runs);
            g.writeNumberField("warmup", warmup);
            RunCommand.writeDevice(g, info);
            percentiles(g, "modelSeconds", model);
            if (fp32 != null) {
                percentiles(g, "fp32Seconds", fp32);
                g.writeNumberField("deviceToFp32RatioP50", (double) percentile(model, 50) / percentile(fp32, 50));
                g.writeNumberField("deviceToFp32MedianRunRatio", medianRatio(model, fp32));
            }
            RunCommand.writeTotals(g, fwd, percentile(model, 50), sentences);
            g.writeArrayFieldStart("layers");
            for (Map.Entry<String, long[]> e : layers.entrySet()) {
                RunStats.Totals t = layerFwd.get(e.getKey());
                g.writeStartObject();
                g.writeStringField("name", e.getKey());
                percentiles(g, "hostSeconds", e.getValue());
                g.writeNumberField("deviceSeconds", t.deviceSeconds());
                g.writeNumberField("deviceCycles", t.deviceCycles());
                g.writeNumberField("energyJoules", t.energyJoules());
                g.writeStringField("bound", t.memoryBoundRuns() > 0 ? "memory" : "compute");
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        System.out.println();
    }

    private static void percentiles(JsonGenerator g, String field, long[] nanos) throws IOException {
        g.writeObjectFieldStart(field);
        g.writeNumberField("p50", percentile(nanos, 50) / 1e9);
        g.writeNumberField("p95", percentile(nanos, 95) / 1e9);
        g.writeNumberField("p99", percentile(nanos, 99) / 1e9);
        g.writeEndObject();
    }
}
