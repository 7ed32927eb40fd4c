package io.qbridge.report;

import static io.qbridge.runtime.EncoderBench.medianRatio;
import static io.qbridge.runtime.EncoderBench.percentile;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.runtime.EncoderBench;
import io.qbridge.runtime.RunStats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One bench result as {@code qbridge bench} prints it (text or JSON) and charts it. A remote bench job
 * stores {@link #json()} and {@link #chartPng()} as its artifacts, so they are the local command's bytes.
 */
public record BenchReport(String model, String format, DeviceInfo device, int sentences, int runs, int warmup, EncoderBench.Samples samples) {

    /** The JSON document and a newline ("\n" on every platform, so an artifact is the same file everywhere). */
    public byte[] json() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8)) {
            writeJson(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in memory: cannot happen
        }
        out.write('\n');
        return out.toByteArray();
    }

    private void writeJson(JsonGenerator g) throws IOException {
        long[] model = samples.modelNanos(), fp32 = samples.fp32Nanos();
        g.writeStartObject();
        g.writeStringField("model", this.model);
        g.writeStringField("format", format);
        g.writeNumberField("sentences", sentences);
        g.writeNumberField("runs", runs);
        g.writeNumberField("warmup", warmup);
        DeviceJson.writeDevice(g, device);
        percentiles(g, "modelSeconds", model);
        if (fp32 != null) {
            percentiles(g, "fp32Seconds", fp32);
            // a ratio of two timings is no more precise than they are: 4 decimals
            g.writeNumberField("deviceToFp32RatioP50", Math.round(1e4 * percentile(model, 50) / percentile(fp32, 50)) / 1e4);
            g.writeNumberField("deviceToFp32MedianRunRatio", Math.round(1e4 * medianRatio(model, fp32)) / 1e4);
        }
        DeviceJson.writeTotals(g, samples.perForward(), percentile(model, 50), sentences);
        EncoderBench.Measured ms = samples.measured();
        if (ms != null) {
            g.writeObjectFieldStart("measured");
            percentiles(g, "onDeviceSeconds", ms.onDeviceNanos());
            percentiles(g, "hostToDeviceSeconds", ms.hostToDeviceNanos());
            percentiles(g, "deviceToHostSeconds", ms.deviceToHostNanos());
            g.writeNumberField("onDeviceSentencesPerSecondP50", sentences / (percentile(ms.onDeviceNanos(), 50) / 1e9));
            g.writeNumberField("countedCyclesPerForward", samples.perForward().countedCycles());
            g.writeEndObject();
        }
        g.writeArrayFieldStart("layers");
        for (Map.Entry<String, long[]> e : samples.layerNanos().entrySet()) {
            RunStats.Totals t = samples.layerForward().get(e.getKey());
            g.writeStartObject();
            g.writeStringField("name", e.getKey());
            percentiles(g, "hostSeconds", e.getValue());
            g.writeNumberField("deviceSeconds", t.deviceSeconds());
            g.writeNumberField("deviceCycles", t.deviceCycles());
            g.writeNumberField("energyJoules", t.energyJoules());
            g.writeStringField("bound", bound(t));
            if (ms != null) {
                percentiles(g, "onDeviceSeconds", ms.layerOnDeviceNanos().get(e.getKey()));
                g.writeNumberField("countedCycles", t.countedCycles());
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /**
     * What the figures cannot say: percentiles that are only the slowest run (nearest rank: p95 differs from the
     * maximum from 21 runs on, p99 from 101), and a first measured run much slower than the median (warm-up not over).
     */
    public List<String> warnings() {
        List<String> w = new ArrayList<>();
        if (runs < 21) {
            w.add("with " + runs + " run" + (runs == 1 ? "" : "s") + ", p95 and p99 are both the slowest run; p95 needs --runs 21 or more, p99 --runs 101 or more");
        } else if (runs < 101) {
            w.add("with " + runs + " runs, p99 is the slowest run; it needs --runs 101 or more");
        }
        long[] model = samples.modelNanos();
        long median = percentile(model, 50);
        if (model.length > 1 && model[0] > 2 * median) {
            w.add(String.format(java.util.Locale.ROOT, "the first measured run took %.1f ms, %.1fx the median: warm-up (JIT) was not over after %d warm-up run%s; raise --warmup",
                    model[0] / 1e6, (double) model[0] / median, warmup, warmup == 1 ? "" : "s"));
        }
        return w;
    }

    /** "memory" if any run of the layer was memory-bound, else "compute". */
    public static String bound(RunStats.Totals t) {
        return t.memoryBoundRuns() > 0 ? "memory" : "compute";
    }

    private static void percentiles(JsonGenerator g, String field, long[] nanos) throws IOException {
        g.writeObjectFieldStart(field);
        g.writeNumberField("p50", percentile(nanos, 50) / 1e9);
        g.writeNumberField("p95", percentile(nanos, 95) / 1e9);
        g.writeNumberField("p99", percentile(nanos, 99) / 1e9);
        g.writeEndObject();
    }

    /** The human-readable table. */
    public void printText(PrintStream out) {
        long[] model = samples.modelNanos(), fp32 = samples.fp32Nanos();
        RunStats.Totals fwd = samples.perForward();
        out.printf("bench: %s %s on %s, %d sentences, %d runs after %d warm-up%n", this.model, format, device.name(), sentences, runs, warmup);
        out.printf("model forward (host wall): p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  (%.1f sentences/s at p50)%n",
                percentile(model, 50) / 1e6, percentile(model, 95) / 1e6, percentile(model, 99) / 1e6, sentences / (percentile(model, 50) / 1e9));
        if (fp32 != null)
            out.printf("fp32 host forward:         p50 %.1f ms  p95 %.1f ms  p99 %.1f ms;  device/fp32 ratio at p50 = %.3f, median of per-run ratios = %.3f%n",
                    percentile(fp32, 50) / 1e6, percentile(fp32, 95) / 1e6, percentile(fp32, 99) / 1e6, (double) percentile(model, 50) / percentile(fp32, 50),
                    medianRatio(model, fp32));
        out.printf("device (modelled) per forward: %.3f ms, %,d cycles, %.1f MB moved, %.3f mJ, %d compute-bound / %d memory-bound layer runs%n",
                fwd.deviceSeconds() * 1e3, fwd.deviceCycles(), fwd.bytesMoved() / 1e6, fwd.energyJoules() * 1e3, fwd.computeBoundRuns(), fwd.memoryBoundRuns());
        EncoderBench.Measured ms = samples.measured();
        if (ms != null) {
            out.printf("on-device (measured, run start to completion) per forward: p50 %.3f ms  p95 %.3f ms  p99 %.3f ms  (%.1f sentences/s at p50)%n",
                    percentile(ms.onDeviceNanos(), 50) / 1e6, percentile(ms.onDeviceNanos(), 95) / 1e6, percentile(ms.onDeviceNanos(), 99) / 1e6,
                    sentences / (percentile(ms.onDeviceNanos(), 50) / 1e9));
            out.printf("transfer per forward: host->device p50 %.3f ms  p95 %.3f ms;  device->host p50 %.3f ms  p95 %.3f ms%n",
                    percentile(ms.hostToDeviceNanos(), 50) / 1e6, percentile(ms.hostToDeviceNanos(), 95) / 1e6,
                    percentile(ms.deviceToHostNanos(), 50) / 1e6, percentile(ms.deviceToHostNanos(), 95) / 1e6);
            if (fwd.countedCycles() > 0) out.printf("kernel cycles per forward (counted by the device): %,d (model: %,d)%n", fwd.countedCycles(), fwd.deviceCycles());
            out.printf("%-42s %9s %9s %9s %11s %11s %9s%n", "layer (µs per forward)", "host p50", "host p95", "host p99", "on-dev p50", "on-dev p99", "model µs");
            for (Map.Entry<String, long[]> e : samples.layerNanos().entrySet()) {
                RunStats.Totals t = samples.layerForward().get(e.getKey());
                long[] od = ms.layerOnDeviceNanos().get(e.getKey());
                out.printf("%-42s %9.1f %9.1f %9.1f %11.1f %11.1f %9.2f%n", e.getKey(), percentile(e.getValue(), 50) / 1e3, percentile(e.getValue(), 95) / 1e3,
                        percentile(e.getValue(), 99) / 1e3, percentile(od, 50) / 1e3, percentile(od, 99) / 1e3, t.deviceSeconds() * 1e6);
            }
            return;
        }
        out.printf("%-42s %9s %9s %9s %11s %9s%n", "layer (host µs per forward)", "p50", "p95", "p99", "device µs", "bound");
        for (Map.Entry<String, long[]> e : samples.layerNanos().entrySet()) {
            RunStats.Totals t = samples.layerForward().get(e.getKey());
            out.printf("%-42s %9.1f %9.1f %9.1f %11.2f %9s%n", e.getKey(), percentile(e.getValue(), 50) / 1e3, percentile(e.getValue(), 95) / 1e3,
                    percentile(e.getValue(), 99) / 1e3, t.deviceSeconds() * 1e6, bound(t));
        }
    }

    public String chartTitle() {
        return model + " " + format + " on " + device.name() + ": per-layer time, " + sentences + " sentences";
    }

    /** Per layer: host p50 beside the device time, in µs: measured on-device p50 on an XRT device, else the model's. */
    public List<LatencyChart.Bar> chartBars() {
        List<LatencyChart.Bar> bars = new ArrayList<>();
        EncoderBench.Measured ms = samples.measured();
        for (Map.Entry<String, long[]> e : samples.layerNanos().entrySet()) {
            double dev = ms != null ? percentile(ms.layerOnDeviceNanos().get(e.getKey()), 50) / 1e3 : samples.layerForward().get(e.getKey()).deviceSeconds() * 1e6;
            bars.add(new LatencyChart.Bar(LatencyChart.shortLabel(e.getKey()), percentile(e.getValue(), 50) / 1e3, dev));
        }
        return bars;
    }

    /** What the chart's device bars are. */
    public String deviceSeries() {
        return samples.measured() != null ? "on-device p50 (measured)" : "device (modelled)";
    }

    public byte[] chartPng() throws IOException {
        return LatencyChart.png(chartTitle(), chartBars(), deviceSeries());
    }
}
