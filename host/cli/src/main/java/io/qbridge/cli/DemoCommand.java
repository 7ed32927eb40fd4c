package io.qbridge.cli;

import io.qbridge.compute.Parallel;
import io.qbridge.compute.VectorOps;
import io.qbridge.data.EvalCorpus;
import io.qbridge.device.Accelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.device.PerfConfig;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QualityReport;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.RunStats;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code qbridge demo}, the README's main command: a real pretrained encoder quantized with MicroScopiQ,
 * run with every linear layer on the accelerator (the emulator on a machine without a board), its
 * similarity table beside the FP32 one, the agreement, and the speed on both.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Quantize bge-small with MicroScopiQ, run it on the accelerator (emulator unless a board is present) and compare with FP32.")
final class DemoCommand implements Callable<Integer> {
    static final List<String> SENTENCES = List.of(
            "The cat sits on the mat.",
            "A kitten is resting on the rug.",
            "Stock markets fell sharply after the announcement.",
            "Shares dropped when the news came out.",
            "The accelerator multiplies low-bit weights with 8-bit activations.",
            "FPGA kernels compute integer dot products for quantized models.");

    @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL", description = "bge-small (default) or minilm.")
    String model;

    @Option(names = {"-f", "--format"}, defaultValue = "microscopiq-w4", paramLabel = "FORMAT", description = "Quantization recipe (default microscopiq-w4: MicroScopiQ's GPTQ path).")
    String format;

    @Mixin DeviceOption device;

    @Mixin ActivationOptions activations;

    @Override
    public Integer call() throws Exception {
        EmulatorConfig emulator = activations.apply(new EmulatorConfig(PerfConfig.preset("u55c"), EmulatorConfig.DEFAULT_FORMATS)) // a bad name fails first
                .withPlans(DeviceModelOptions.plans());
        EncoderModel.Builtin base = EncoderModel.Builtin.byAlias(model);
        if (base == null) throw new Main.UserException(model + ": the demo takes a built-in encoder (bge-small, minilm)");
        QuantRecipe recipe = QuantRecipe.parse(format);
        if (recipe.format() == null) throw new Main.UserException("the demo needs a quantized format, not fp32");
        long t0 = System.nanoTime();
        EncoderModel fp32 = EncoderModel.load(base);
        Log.info("loaded %s (%.1fM parameters) in %.1f s", base.alias, fp32.encoder().config().parameterCount() / 1e6, (System.nanoTime() - t0) / 1e9);

        List<int[]> calib = recipe.needsCalibration() ? EncoderQuantizer.calibrationIds(fp32, EvalCorpus.Split.CALIBRATION.count) : List.of();
        long tq = System.nanoTime();
        EncoderQuantizer.Result q = QuantizeCommand.withProgress(fp32, recipe, calib);
        double quantSecs = (System.nanoTime() - tq) / 1e9;

        try (Accelerator dev = device.open(emulator)) {
            RunStats stats = new RunStats();
            EncoderModel onDevice = AcceleratorModels.onDevice(q, dev, stats);
            String where = dev.describe().name();

            List<int[]> demoIds = fp32.tokenize(SENTENCES, null);
            float[][] ref = fp32.embedIds(demoIds, EncoderModel.DEFAULT_BATCH_TOKENS);
            float[][] got = onDevice.embedIds(demoIds, EncoderModel.DEFAULT_BATCH_TOKENS);

            System.out.printf("%n%s quantized to %s (%s, %.3f bits/weight, %.1f MB packed vs %.1f MB FP32) in %.1f s%n", base.alias, recipe.format().id(),
                    q.settings().get("algorithm"), QualityReport.bitsPerWeight(q.layers()), QualityReport.packedBytes(q.layers()) / 1e6,
                    fp32.encoder().linears().stream().mapToLong(l -> 4L * l.inFeatures() * l.outFeatures()).sum() / 1e6, quantSecs);
            System.out.println();
            for (int i = 0; i < SENTENCES.size(); i++) System.out.printf("  S%d  %s%n", i + 1, SENTENCES.get(i));
            System.out.printf("%nCosine similarity of sentence embeddings: FP32 on the host | %s on %s%n%n", recipe.format().id(), where);
            printSideBySide(ref, got);
            double worst = 0;
            for (int i = 0; i < ref.length; i++) {
                for (int j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(sim(ref, i, j) - sim(got, i, j)));
            }
            System.out.printf("%nAgreement: each sentence's device embedding vs its FP32 one, mean cosine %.5f (min %.5f); largest similarity change %.4f%n",
                    QualityReport.meanCosine(ref, got), minCosine(ref, got), worst);

            List<int[]> bench = fp32.tokenize(EvalCorpus.split(EvalCorpus.Split.BENCH), null);
            int tokens = bench.stream().mapToInt(a -> a.length).sum();
            fp32.embedIds(bench, EncoderModel.DEFAULT_BATCH_TOKENS); // warm-up: JIT and caches
            onDevice.embedIds(bench, EncoderModel.DEFAULT_BATCH_TOKENS);
            long f0 = System.nanoTime();
            fp32.embedIds(bench, EncoderModel.DEFAULT_BATCH_TOKENS);
            double fpSecs = (System.nanoTime() - f0) / 1e9;
            stats.reset();
            long d0 = System.nanoTime();
            onDevice.embedIds(bench, EncoderModel.DEFAULT_BATCH_TOKENS);
            long devWall = System.nanoTime() - d0;
            System.out.printf("%nThroughput on %d Europarl sentences (%d tokens), %d host threads:%n", bench.size(), tokens, Parallel.threads());
            System.out.printf("  FP32 on the host: %.3f s, %.1f sentences/s%n", fpSecs, bench.size() / fpSecs);
            System.out.printf("  %s on %s: %.3f s, %.1f sentences/s%n", recipe.format().id(), where, devWall / 1e9, bench.size() / (devWall / 1e9));
            RunCommand.printSummary(bench.size(), dev.describe(), stats.total(), devWall);
        }
        return 0;
    }

    private static double sim(float[][] e, int i, int j) {
        return VectorOps.dot(e[i], 0, e[j], 0, e[i].length);
    }

    private static double minCosine(float[][] a, float[][] b) {
        double min = 1;
        for (int i = 0; i < a.length; i++) min = Math.min(min, QualityReport.meanCosine(new float[][] {a[i]}, new float[][] {b[i]}));
        return min;
    }

    private static void printSideBySide(float[][] ref, float[][] got) {
        int n = ref.length;
        StringBuilder head = new StringBuilder("      ");
        for (int j = 0; j < n; j++) head.append(String.format("  S%-4d", j + 1));
        head.append("   |  ");
        for (int j = 0; j < n; j++) head.append(String.format("  S%-4d", j + 1));
        System.out.println(head);
        for (int i = 0; i < n; i++) {
            StringBuilder row = new StringBuilder(String.format("  S%-3d", i + 1));
            for (int j = 0; j < n; j++) row.append(String.format("  %.3f", sim(ref, i, j)));
            row.append("   |  ");
            for (int j = 0; j < n; j++) row.append(String.format("  %.3f", sim(got, i, j)));
            System.out.println(row);
        }
    }
}
