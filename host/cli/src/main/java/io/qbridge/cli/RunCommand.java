package io.qbridge.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.data.EvalCorpus;
import io.qbridge.container.QbzFile;
import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceKind;
import io.qbridge.device.DeviceInfo;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.EncoderWarmUp;
import io.qbridge.pipeline.PreparedEncoder;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.DeviceWarmUp;
import io.qbridge.runtime.RunStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qbridge run}: sentence embeddings computed with every linear layer on an accelerator (or its emulator). */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Embed each non-empty line of a text file with every linear layer of the encoder on a device.")
final class RunCommand implements Callable<Integer> {
    @Mixin DeviceModelOptions options;

    @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 text, one sentence a line.")
    Path text;

    @Option(names = "--json", description = "Print {\"model\":…, \"dim\":…, \"embeddings\":[[…]], \"device\":{…}, \"timing\":{…}, \"energy\":{…}} on stdout.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        EvalCorpus.TextLines numbered = EvalCorpus.readText(text);
        List<String> lines = numbered.lines();
        if (lines.isEmpty()) throw new Main.UserException(text + ": no non-empty lines");
        try (Accelerator dev = options.open(); // first: a missing device fails before minutes of quantization
             EncoderWarmUp warm = warmUp(dev)) {
            PreparedEncoder prep = options.prepare();
            if (warm != null) warm.close(); // the real batches get both cores
            RunStats stats = new RunStats();
            io.qbridge.emulator.PlanCache plans = dev instanceof io.qbridge.emulator.EmulatorAccelerator e ? e.config().plans() : null;
            int hits = plans == null ? 0 : plans.hits(), writes = plans == null ? 0 : plans.writes();
            EncoderModel model = AcceleratorModels.onDevice(prep.base(), prep.layers(), dev, stats);
            if (plans != null)
                Log.info("emulator: %d layer plans read from %s, %d planned and kept there", plans.hits() - hits, plans.dir(), plans.writes() - writes);
            List<int[]> ids = model.tokenize(lines, i -> Log.info("warning: %s line %d is longer than %d tokens and was truncated", text, numbered.lineOf(i),
                    model.encoder().config().maxPositions()));
            long t0 = System.nanoTime();
            float[][] emb;
            try (Progress p = Progress.start("run", ids.size())) { // as embed shows it: a bar on a terminal, else lines
                emb = model.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS, p::step);
            }
            long wall = System.nanoTime() - t0;
            RunStats.Totals t = stats.total();
            DeviceInfo info = dev.describe();
            if (json) {
                writeJson(prep, emb, info, t, wall);
            } else {
                System.out.printf("%d sentences, %d dimensions, model %s (%s) on %s%n", emb.length, emb[0].length, prep.name(), prep.format(), info.name());
                EmbedCommand.printPreview(lines, emb);
                printSummary(emb.length, info, t, wall);
            }
            // one pass, first call: class loading and JIT compilation are inside the host time
            Log.info("note: the host time is one first call over %d sentence%s, so it includes JIT warm-up; 'qbridge bench' measures after warm-up runs",
                    emb.length, emb.length == 1 ? "" : "s");
        }
        return 0;
    }

    /**
     * JIT warm-up of the emulator's kernels for the container's format while the container loads
     * ({@link DeviceWarmUp}); null for a board, for a recipe the FP32 model is quantized with here (the
     * quantization is the long part and warms the host path itself). The warm-up thread reads the container's format
     * from its manifest; a manifest it cannot read ends the warm-up, and the load that follows reports the problem.
     */
    private EncoderWarmUp warmUp(Accelerator dev) {
        if (dev.describe().kind() != DeviceKind.EMULATOR || !options.model.isContainer()) return null;
        Path container = Path.of(options.model.model);
        // read on the warm-up thread: on this one it held the load back by 0.2 s (BENCHMARKS.md §1b, eleventh pass)
        return DeviceWarmUp.start(dev, () -> {
            try {
                return QuantFormat.parse(QbzFile.readManifest(container).format());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static String stage(long nanos) {
        return nanos == 0 ? "in compute" : String.format("%.1f ms", nanos / 1e6);
    }

    static void printSummary(int sentences, DeviceInfo info, RunStats.Totals t, long wallNanos) {
        double secs = wallNanos / 1e9;
        // a stage the device fuses into its kernel (the emulator's output stage, and its INT16 layers' activation
        // quantization) reports 0 ns: say so rather than print a time that looks measured
        System.out.printf("host: %.3f s, %.1f sentences/s; linear layers: quantize activations %s, transfer %.1f ms, compute %.1f ms, dequantize %s; rest of the model %.1f ms%n",
                secs, sentences / secs, stage(t.quantizeNanos()), t.transferNanos() / 1e6, t.computeNanos() / 1e6, stage(t.dequantizeNanos()),
                (wallNanos - t.hostNanos()) / 1e6);
        System.out.printf("device (modelled, %dx%d PEs at %.0f MHz): %.3f ms for %d layer runs (%,d cycles), %.1f MB moved, %d compute-bound / %d memory-bound, energy %.3f mJ (%.1f µJ per sentence)%n",
                info.arrayRows(), info.arrayCols(), info.clockMhz(), t.deviceSeconds() * 1e3, t.runs(), t.deviceCycles(), t.bytesMoved() / 1e6,
                t.computeBoundRuns(), t.memoryBoundRuns(), t.energyJoules() * 1e3, t.energyJoules() * 1e6 / sentences);
    }

    static void writeDevice(JsonGenerator g, DeviceInfo info) throws IOException {
        io.qbridge.report.DeviceJson.writeDevice(g, info);
    }

    static void writeTotals(JsonGenerator g, RunStats.Totals t, long wallNanos, int sentences) throws IOException {
        io.qbridge.report.DeviceJson.writeTotals(g, t, wallNanos, sentences);
    }

    private static void writeJson(PreparedEncoder prep, float[][] emb, DeviceInfo info, RunStats.Totals t, long wall) throws IOException {
        EmbedCommand.writeJson(prep.name(), prep.format(), emb, g -> {
            writeDevice(g, info);
            writeTotals(g, t, wall, emb.length);
        });
    }
}
