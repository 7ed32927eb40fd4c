package io.qbridge.runtime;

import io.qbridge.model.bert.EncoderModel;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The latency measurement behind {@code qbridge bench} and remote bench jobs: warm-up runs that are not
 * counted, then measured runs of one whole forward over the same token ids, with each layer's host time
 * and modelled device cost taken from the {@link RunStats} deltas of that run.
 */
public final class EncoderBench {
    private EncoderBench() {}

    /**
     * The measured runs.
     *
     * @param modelNanos   host wall time of each measured forward on the device model
     * @param fp32Nanos    the FP32 host forward run right after each device forward, or null
     * @param layerNanos   per layer (in the order layers ran): host time of each measured forward
     * @param perForward   device cost of the last measured forward (the model is deterministic, so every run costs the same)
     * @param layerForward the same per layer
     * @param measured     on an XRT device, per measured forward: on-device, host-to-device and device-to-host nanoseconds
     *                     summed over the layers, and each layer's on-device nanoseconds; null on the emulator
     */
    public record Samples(long[] modelNanos, long[] fp32Nanos, Map<String, long[]> layerNanos, RunStats.Totals perForward,
                          Map<String, RunStats.Totals> layerForward, Measured measured) {}

    /** What an XRT device measured in each forward (see {@link io.qbridge.device.RunResult.Measured}). */
    public record Measured(long[] onDeviceNanos, long[] hostToDeviceNanos, long[] deviceToHostNanos, Map<String, long[]> layerOnDeviceNanos) {}

    /** Hears after every run, warm-up included: where a job reports progress and checks for cancellation. */
    @FunctionalInterface
    public interface AfterRun {
        void done(int runsDone, int runsTotal);
    }

    /**
     * @param onDevice the model whose linear layers record into {@code stats}
     * @param fp32     the FP32 host model to time beside it, or null
     */
    public static Samples measure(EncoderModel onDevice, RunStats stats, EncoderModel fp32, List<int[]> ids, int warmup, int runs, AfterRun after) {
        if (runs < 1 || warmup < 0) throw new IllegalArgumentException("runs must be >= 1 and warm-up >= 0, got " + runs + " and " + warmup);
        long[] modelNanos = new long[runs];
        long[] fp32Nanos = fp32 != null ? new long[runs] : null;
        Map<String, long[]> layerNanos = new LinkedHashMap<>();
        RunStats.Totals perForward = null;
        Map<String, RunStats.Totals> layerForward = null;
        long[] onDev = new long[runs], h2d = new long[runs], d2h = new long[runs];
        Map<String, long[]> layerOnDev = new LinkedHashMap<>();
        boolean measuredAll = true;
        for (int i = 0; i < warmup + runs; i++) {
            RunStats.Totals before = stats.total();
            Map<String, RunStats.Totals> lb = stats.perLayer();
            long t0 = System.nanoTime();
            onDevice.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
            long dt = System.nanoTime() - t0;
            // the FP32 run right after the device run, so both see the same machine load
            long f0 = System.nanoTime();
            if (fp32 != null) fp32.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
            long fdt = System.nanoTime() - f0;
            if (i >= warmup) {
                int m = i - warmup;
                modelNanos[m] = dt;
                if (fp32 != null) fp32Nanos[m] = fdt;
                perForward = stats.total().minus(before);
                measuredAll &= perForward.measuredRuns() == perForward.runs() && perForward.runs() > 0;
                onDev[m] = perForward.onDeviceNanos();
                h2d[m] = perForward.hostToDeviceNanos();
                d2h[m] = perForward.deviceToHostNanos();
                layerForward = new LinkedHashMap<>();
                for (Map.Entry<String, RunStats.Totals> e : stats.perLayer().entrySet()) {
                    RunStats.Totals d = lb.containsKey(e.getKey()) ? e.getValue().minus(lb.get(e.getKey())) : e.getValue();
                    layerForward.put(e.getKey(), d);
                    layerNanos.computeIfAbsent(e.getKey(), k -> new long[runs])[m] = d.hostNanos();
                    layerOnDev.computeIfAbsent(e.getKey(), k -> new long[runs])[m] = d.onDeviceNanos();
                }
            }
            if (after != null) after.done(i + 1, warmup + runs);
        }
        return new Samples(modelNanos, fp32Nanos, layerNanos, perForward, layerForward, measuredAll ? new Measured(onDev, h2d, d2h, layerOnDev) : null);
    }

    /** Nearest-rank percentile of a sample. */
    public static long percentile(long[] v, double p) {
        long[] s = v.clone();
        Arrays.sort(s);
        int rank = (int) Math.ceil(p / 100 * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }

    /** Median of run i's time in {@code a} over run i's time in {@code b} (each pair ran back to back). */
    public static double medianRatio(long[] a, long[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = (double) a[i] / b[i];
        Arrays.sort(r);
        return r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
    }
}
