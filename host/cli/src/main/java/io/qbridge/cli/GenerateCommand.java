package io.qbridge.cli;

import io.qbridge.device.Accelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.device.PerfConfig;
import io.qbridge.model.llama.DecoderWarmUp;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.pipeline.TextGeneration;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.RunStats;
import io.qbridge.tokenizer.TextTokenizer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qbridge generate}: text generation with a LLaMA-family checkpoint, as llama2.c's {@code run}. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text with a llama2.c .bin checkpoint, a llama.cpp .gguf file, a Hugging Face LLaMA directory or a decoder .qbz (streams the text; tokens/s on stderr).")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "CKPT", description = "llama2.c .bin checkpoint, llama.cpp .gguf file, Hugging Face directory, or a decoder .qbz from qbridge quantize (runs on --device).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "TOK", description = "tokenizer.bin (llama2.c) or tokenizer.json (HF); default: beside the model, or the .gguf file's own.")
    Path tokenizer;

    @picocli.CommandLine.Mixin SamplingOptions sampling;

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT",
            description = "Quantize the transformer-block linear layers (any recipe, e.g. mxint8, rtn-w4g128, gptq-w4g128, microscopiq-w4, fineq) and run them on --device; default: FP32 on the host.")
    String format;

    @Option(names = "--calib", paramLabel = "FILE",
            description = "With a GPTQ-path --format: calibration texts, one a line (default: the project's Europarl calibration sentences).")
    Path calib;

    @Option(names = "--calib-sequences", defaultValue = "128", paramLabel = "N", description = "With a GPTQ-path --format: calibration sequences (default 128).")
    int calibSequences;

    @Mixin DeviceOption device; // used with --format, or a .qbz

    @Option(names = "--classifier-on-device",
            description = "With --format: quantize the classifier (output projection) too, RTN in the same format, and run it on the device, as llama2.c's runq does "
                    + "(default: FP32 on the host, as the MicroScopiQ, FineQ and GPTQ evaluations keep it).")
    boolean classifierOnDevice;

    @picocli.CommandLine.Mixin ActivationOptions activations;

    @Option(names = "--axbxp", paramLabel = "CONFIG",
            description = "With --activations axbxp: the Ax-BxP configuration of every block layer that has none from the .qbz or --axbxp-budget "
                    + "(k<K>-x<L><d|s>-w<L><d|s>-<full|sig<D>|m<bits>>, for example k2-x2d-w2d-full; docs/emulator.md §9).")
    String axbxp;

    @Option(names = "--axbxp-budget", paramLabel = "E",
            description = "With --activations axbxp and an rtn-w8g<g> --format: choose each block layer's Ax-BxP configuration at load (least modelled "
                    + "energy whose layer output on the first " + QuantizeCommand.AXBXP_ROWS + " calibration tokens stays within relative error E of FxP8; "
                    + "docs/emulator.md §9b), as quantize --axbxp-budget stores it in a .qbz.")
    Double axbxpBudget;

    @Option(names = "--axbxp-search", defaultValue = "first-fit", paramLabel = "first-fit|greedy",
            description = "With --axbxp-budget: the search, first-fit (default) or greedy (docs/emulator.md §9b).")
    String axbxpSearch;

    @Override
    public Integer call() throws Exception {
        EmulatorConfig emulator = activations.apply(new EmulatorConfig(PerfConfig.preset("u55c"), EmulatorConfig.DEFAULT_FORMATS)); // a bad name fails first
        sampling.check();
        boolean ax = emulator.activations() == io.qbridge.device.ActivationMode.AXBXP;
        if (!ax && (axbxp != null || axbxpBudget != null)) throw new Main.UserException((axbxp != null ? "--axbxp" : "--axbxp-budget") + ": only with --activations axbxp");
        io.qbridge.emulator.AxBxp.Config uniform = null;
        try {
            if (axbxp != null) uniform = io.qbridge.emulator.AxBxpPlan.parse(axbxp); // a bad string fails before any loading
        } catch (IllegalArgumentException e) {
            throw new Main.UserException("--axbxp: " + e.getMessage());
        }
        QuantizeCommand.checkBudgetRange(axbxpBudget);
        io.qbridge.axbxpsearch.AxBxpSearch.Method method = QuantizeCommand.searchMethod(axbxpSearch);
        QuantizeCommand.checkSearchHasBudget(axbxpSearch, axbxpBudget);
        if (classifierOnDevice && format == null) throw new Main.UserException("--classifier-on-device needs --format");
        long t0 = System.nanoTime();
        if (QbzInfo.isContainer(model)) return generateFromContainer(emulator, uniform, t0);
        if (ax) {
            QuantRecipe r = format == null ? null : QuantRecipe.parse(format);
            if (r == null || r.format() == null || !io.qbridge.device.ActivationMode.AXBXP.takes(r.format()))
                throw new Main.UserException("--activations axbxp: runs rtn-w8g<g> block layers on the device; give --format rtn-w8g128 (or a .qbz quantized with it)");
            if (classifierOnDevice) throw new Main.UserException("--classifier-on-device: the classifier has no Ax-BxP configuration; leave it FP32 on the host");
            if (uniform == null && axbxpBudget == null)
                throw new Main.UserException("--activations axbxp: " + model + " has no per-layer Ax-BxP configurations: give --axbxp CONFIG (for example k2-x2d-w2d-full) "
                        + "or --axbxp-budget E, or run a .qbz quantized with --axbxp-budget");
        }
        try (DecoderWarmUp warmUp = warmUp(ax ? null : recipeFormat(format), classifierOnDevice, emulator)) { // JIT warm-up beside the load (only speed)
            LlamaWeights w = DecoderCheckpoints.load(model);
            TextTokenizer tok = DecoderCheckpoints.tokenizer(model, tokenizer, w.config().vocabSize());
            RunStats stats = new RunStats();
            QuantRecipe recipe = format == null ? null : QuantRecipe.parse(format);
            if (recipe != null && recipe.format() == null) throw new Main.UserException("--format fp32 is the default host path; give a quantized format");
            DecoderQuantizer.Result quantized = null;
            if (recipe != null) {
                java.util.List<int[]> calibration = recipe.needsCalibration() || axbxpBudget != null ? DecoderCheckpoints.calibration(calib, calibSequences, tok, w)
                        : java.util.List.of();
                quantized = DecoderCheckpoints.quantize(w, recipe, recipe.needsCalibration() ? calibration : java.util.List.of());
                if (axbxpBudget != null) {
                    // the search quantize --axbxp-budget runs, on the same calibration sequences: the same configurations it stores
                    quantized = QuantizeCommand.withAxBxp(quantized, calibration, axbxpBudget, method);
                }
                if (ax) emulator = emulator.withAxBxp(io.qbridge.emulator.AxBxpPlan.fromSettings(quantized.settings()).withUniform(uniform));
            }
            try (Accelerator dev = recipe == null ? null
                    : device.open(emulator)) {
                if (dev != null) {
                    var blocks = quantized.layers();
                    w = DecoderCheckpoints.onDevice(w, blocks, classifierOnDevice ? DecoderQuantizer.quantizeClassifier(w, recipe.format()) : null, dev, stats);
                    Log.info("transformer-block linear layers quantized to %s and resident on %s; classifier %s", recipe.format().id(), dev.describe().name(),
                            classifierOnDevice ? "too (RTN)" : "FP32 on the host");
                }
                if (warmUp != null) warmUp.await();
                return generate(w, tok, dev, stats, t0);
            }
        }
    }

    /**
     * A decoder .qbz: everything comes from the container (its layers were quantized when it was written, its
     * classifier packed or not then, its tokenizer inside), and the packed layers run on {@code --device}.
     */
    private int generateFromContainer(EmulatorConfig emulator, io.qbridge.emulator.AxBxp.Config uniform, long t0) throws Exception {
        String already = model + " is a .qbz, quantized when it was written";
        if (format != null) throw new Main.UserException("--format: " + already + "; leave --format out");
        if (axbxpBudget != null) throw new Main.UserException("--axbxp-budget: " + already + " (quantize --axbxp-budget stores the per-layer configurations)");
        if (tokenizer != null) throw new Main.UserException("--tokenizer: " + model + " carries its own tokenizer; leave --tokenizer out");
        if (classifierOnDevice) throw new Main.UserException("--classifier-on-device: " + already + " (quantize --classifier-on-device packs the classifier)");
        if (calib != null) throw new Main.UserException("--calib: " + already + "; there is nothing to calibrate");
        try (DecoderWarmUp warmUp = emulator.activations() == io.qbridge.device.ActivationMode.AXBXP ? warmUp(null, false, emulator) : containerWarmUp(emulator)) { // JIT warm-up beside the load (only speed)
            QuantizedDecoders.Loaded q = QuantizedDecoders.load(model);
            TextTokenizer tok = q.textTokenizer(model.toString());
            try {
                emulator = AcceleratorModels.forContainer(emulator, q, uniform);
            } catch (IllegalArgumentException e) {
                throw new Main.UserException("--activations axbxp: " + model + ": " + e.getMessage());
            }
            RunStats stats = new RunStats();
            try (Accelerator dev = device.open(emulator)) {
                LlamaWeights w = AcceleratorModels.containerOnDevice(q, dev, stats);
                Log.info("transformer-block linear layers in %s (from the container) resident on %s; classifier %s", q.manifest().format(), dev.describe().name(),
                        q.classifier() != null ? "too (packed in the container)" : "FP32 on the host");
                if (warmUp != null) warmUp.await();
                return generate(w, tok, dev, stats, t0);
            }
        }
    }

    /**
     * The JIT warm-up beside the load ({@link DecoderWarmUp}; only speed): when the layers are
     * to run in {@code format} (not null) on the emulator, a tiny decoder whose layers run on an emulator of its own
     * in that format, so the decode kernel, its shared-input calls and the activation quantization are compiled
     * before the first token (without it a fresh run's first 64 tokens ran at a third of the steady rate,
     * BENCHMARKS.md §2b); otherwise the host path only.
     */
    private DecoderWarmUp warmUp(io.qbridge.format.QuantFormat format, boolean classifier, EmulatorConfig emulator) {
        return format != null && device.choosesEmulator() ? io.qbridge.runtime.DeviceWarmUp.decoder(emulator, format, classifier)
                : DecoderWarmUp.start();
    }

    /** The weight format of a --format recipe; null for none, FP32 or a recipe that does not parse (reported where it is used). */
    private static io.qbridge.format.QuantFormat recipeFormat(String recipe) {
        try {
            return recipe == null ? null : QuantRecipe.parse(recipe).format();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** {@link #warmUp} for a container's format, read from its manifest (unreadable: the host path; the load then reports it). */
    private DecoderWarmUp containerWarmUp(EmulatorConfig emulator) {
        io.qbridge.format.QuantFormat f = null;
        boolean classifier = false;
        try {
            io.qbridge.container.QbzManifest m = io.qbridge.container.QbzFile.readManifest(model);
            f = io.qbridge.format.QuantFormat.parse(m.format());
            classifier = QuantizedDecoders.packsClassifier(m);
        } catch (java.io.IOException | RuntimeException e) {
            f = null; // the load reports what is wrong with the file
        }
        return warmUp(f, classifier, emulator);
    }

    private int generate(LlamaWeights w, TextTokenizer tok, Accelerator dev, RunStats stats, long t0) {
        Log.info("loaded %s (%d layers, dim %d, %.1fM parameters) in %.1f s", model, w.config().nLayers(), w.config().dim(),
                w.config().parameterCount() / 1e6, (System.nanoTime() - t0) / 1e9);
        long s = sampling.seed != null ? sampling.seed : System.nanoTime();
        TextGeneration.Result r = TextGeneration.generate(w, tok, sampling.prompt, sampling.steps, sampling.temperature, sampling.topp, s, piece -> {
            System.out.print(piece);
            System.out.flush();
        });
        System.out.println();
        Log.info("achieved tok/s: %.2f (%d positions, first excluded as llama2.c counts)", r.tokensPerSecond(), r.positions());
        double bytes = weightBytesPerToken(w, dev);
        Log.info("weights read per token: %.1f MB, i.e. %.1f GB/s at that rate", bytes / 1e6, bytes * r.tokensPerSecond() / 1e9);
        if (dev != null) {
            RunStats.Totals t = stats.total();
            Log.info("device (modelled, %s): %.3f ms over %d layer runs, %.3f ms per token, energy %.3f mJ (%.1f µJ per token)", dev.describe().name(),
                    t.deviceSeconds() * 1e3, t.runs(), t.deviceSeconds() * 1e3 / r.positions(), t.energyJoules() * 1e3, t.energyJoules() * 1e6 / r.positions());
        }
        return 0;
    }

    /**
     * Bytes of weights one decoded token streams: 4 per FP32 weight on the host; on the emulator's decode kernel
     * its plane, scales, shifts and side list ({@link io.qbridge.emulator.MatVecKernel#bytesPerCall}), else the
     * packed image. The roofline lines of BENCHMARKS.md are this divided by the time per token.
     */
    private static double weightBytesPerToken(LlamaWeights w, Accelerator dev) {
        java.util.List<io.qbridge.model.Linear> all = new java.util.ArrayList<>();
        for (LlamaWeights.Layer l : w.layers()) all.addAll(l.linears());
        all.add(w.classifier());
        double bytes = 0;
        for (io.qbridge.model.Linear lin : all) {
            if (lin instanceof io.qbridge.runtime.AcceleratorLinear a) {
                io.qbridge.emulator.MatVecKernel m = dev instanceof io.qbridge.emulator.EmulatorAccelerator e ? e.matVecKernel(a.handle()) : null;
                bytes += m != null ? m.bytesPerCall() : a.handle().packedBytes();
            } else {
                bytes += 4.0 * lin.inFeatures() * lin.outFeatures();
            }
        }
        return bytes;
    }
}
