package io.qbridge.cli;

import io.qbridge.axbxpsearch.AxBxpCalibration;
import io.qbridge.axbxpsearch.AxBxpSearch;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.Pooling;
import io.qbridge.pipeline.FileBase;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QualityReport;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedEncoders;
import io.qbridge.data.EvalCorpus;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code qbridge quantize}: quantize a built-in encoder or a BERT .onnx file (every linear layer), or a LLaMA-family
 * checkpoint (every transformer-block linear layer, the classifier too on request), into a {@code .qbz} container.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Quantize every linear layer of an encoder, or every transformer-block linear layer of a LLaMA checkpoint, with a format and algorithm, and write a .qbz container.")
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
            description = "bge-small (default), minilm, or a BERT .onnx file with tokenizer.json beside it (the .qbz then pins both by sha256; load it with --base FILE.onnx); "
                    + "or a LLaMA checkpoint (llama2.c .bin, .gguf, Hugging Face directory): the .qbz then carries the whole model and its tokenizer (run it with generate or eval).")
    String model;

    @Option(names = "--tokenizer", paramLabel = "TOK", description = "LLaMA checkpoints: tokenizer.bin or tokenizer.json to carry (default: beside the model, or the .gguf file's own).")
    Path tokenizer;

    @Option(names = "--calib", paramLabel = "FILE",
            description = "LLaMA checkpoints with a GPTQ-path format: calibration texts, one a line (default: the project's Europarl calibration sentences).")
    Path calib;

    @Option(names = "--classifier-on-device",
            description = "LLaMA checkpoints: pack the classifier too (RTN in the same format), as generate --classifier-on-device runs it (default: kept FP32).")
    boolean classifierOnDevice;

    @Option(names = "--pooling", paramLabel = "CLS|MEAN", description = "Pooling for an .onnx file (default MEAN); recorded in the .qbz. Built-in models use their own.")
    Pooling pooling;

    @Option(names = {"-f", "--format"}, required = true, paramLabel = "FORMAT",
            description = "rtn-w4g128, gptq-w4g128, mxint8, mxfp8-e4m3, mxfp8-e5m2, mxfp6-e2m3, mxfp6-e3m2, mxfp4, microscopiq-w4, microscopiq-w2 (4.75 / 2.75 bits/weight), microscopiq-w4-c4, microscopiq-w2-c4 (the first, per-block layout), fineq; suffix @rtn, @gptq or @gptq-act (GPTQ with act-order) overrides the algorithm.")
    String format;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The .qbz file to write (atomically).")
    Path out;

    @Option(names = {"--calibration", "--calib-sequences"}, defaultValue = "128", paramLabel = "N",
            description = "Calibration sentences (encoders) or sequences (LLaMA checkpoints) for GPTQ-based algorithms (default 128).")
    int calibration;

    @Option(names = "--axbxp-budget", paramLabel = "E",
            description = "With an rtn-w8g<g> format: also choose each layer's Ax-BxP configuration (least modelled energy whose layer output on "
                    + "calibration tokens stays within relative error E of FxP8, for example 0.05) and store it in the .qbz for --activations axbxp "
                    + "(docs/emulator.md §9b); encoders and LLaMA checkpoints alike.")
    Double axbxpBudget;

    @Option(names = "--axbxp-search", defaultValue = "first-fit", paramLabel = "first-fit|greedy",
            description = "With --axbxp-budget: first-fit (default: each layer its least-energy configuration within E) or greedy (across layers: "
                    + "the moves saving the most energy per error added while the RMS of the layer errors stays within E; docs/emulator.md §9b).")
    String axbxpSearch;

    /** Calibration tokens per layer the Ax-BxP search measures its error on. */
    static final int AXBXP_ROWS = 64;

    @Override
    public Integer call() throws Exception {
        EncoderModel.Builtin base = EncoderModel.Builtin.byAlias(model);
        boolean onnx = model.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx");
        if (base == null && !onnx) return quantizeDecoder();
        if (tokenizer != null || calib != null || classifierOnDevice) {
            throw new Main.UserException((tokenizer != null ? "--tokenizer" : calib != null ? "--calib" : "--classifier-on-device") + ": only for a LLaMA checkpoint");
        }
        if (base != null && pooling != null) throw new Main.UserException("--pooling: only for an .onnx file; " + base.alias + " uses its own");
        QuantRecipe recipe = QuantRecipe.parse(format);
        if (recipe.format() == null) throw new Main.UserException("fp32 is not a quantized format");
        if (calibration < 1 || calibration > EvalCorpus.Split.CALIBRATION.count) {
            throw new Main.UserException("--calibration must be between 1 and " + EvalCorpus.Split.CALIBRATION.count);
        }
        checkAxBxpBudget(recipe);
        if (out.getParent() != null && !Files.isDirectory(out.getParent())) throw new Main.UserException(out.getParent() + ": no such directory");
        long t0 = System.nanoTime();
        FileBase file = null;
        if (base == null) {
            Path path = Path.of(model);
            if (!Files.isRegularFile(path)) throw new Main.UserException(model + ": no such file");
            file = FileBase.read(path, path.resolveSibling("tokenizer.json"));
        }
        EncoderModel fp32 = base != null ? EncoderModel.load(base) : file.model(pooling == null ? Pooling.MEAN : pooling);
        var calib = EncoderQuantizer.calibrationIds(fp32, calibration);
        EncoderQuantizer.Result r = withProgress(fp32, recipe, calib);
        if (axbxpBudget != null) r = withAxBxp(r, calib, axbxpBudget, searchMethod(axbxpSearch));
        if (base != null) QuantizedEncoders.save(out, base, r);
        else QuantizedEncoders.save(out, file, fp32.pooling(), r);
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("wrote %s: %s on %s, %d layers, %,d packed bytes, %.3f bits/weight, %s, in %.1f s%n", out, recipe.format().id(),
                fp32.name(), r.layers().size(), QualityReport.packedBytes(r.layers()), QualityReport.bitsPerWeight(r.layers()),
                r.settings().get("algorithm") + (recipe.needsCalibration() ? " (" + calib.size() + " calibration sentences)" : ""), secs);
        return 0;
    }

    /**
     * A LLaMA checkpoint: its block layers quantized exactly as {@code generate --format} quantizes them (the same
     * calibration, {@link DecoderCheckpoints#quantize}), the classifier as {@code generate --classifier-on-device}
     * does if asked, written with the checkpoint's FP32 tensors and its tokenizer into one container.
     */
    private int quantizeDecoder() throws Exception {
        Path ckpt = Path.of(model);
        if (!Files.exists(ckpt)) {
            throw new Main.UserException(model + ": quantize takes a built-in encoder (bge-small, minilm), a BERT .onnx file or a LLaMA checkpoint (llama2.c .bin, .gguf, Hugging Face directory); no such file");
        }
        if (QbzInfo.isContainer(ckpt)) throw new Main.UserException(model + " is a .qbz container, already quantized; quantize takes the checkpoint it came from");
        if (pooling != null) throw new Main.UserException("--pooling: only for an .onnx file");
        QuantRecipe recipe = QuantRecipe.parse(format);
        if (recipe.format() == null) throw new Main.UserException("fp32 is not a quantized format");
        checkAxBxpBudget(recipe);
        if (out.getParent() != null && !Files.isDirectory(out.getParent())) throw new Main.UserException(out.getParent() + ": no such directory");
        long t0 = System.nanoTime();
        LlamaWeights w = DecoderCheckpoints.load(ckpt);
        DecoderCheckpoints.Tokenizer tok = DecoderCheckpoints.tokenizerWithFile(ckpt, tokenizer, w.config().vocabSize());
        List<int[]> calibrationIds = recipe.needsCalibration() || axbxpBudget != null ? DecoderCheckpoints.calibration(calib, calibration, tok.parsed(), w) : List.of();
        DecoderQuantizer.Result r = DecoderCheckpoints.quantize(w, recipe, recipe.needsCalibration() ? calibrationIds : List.of());
        if (axbxpBudget != null) r = withAxBxp(r, calibrationIds, axbxpBudget, searchMethod(axbxpSearch));
        QuantizedLayer classifier = classifierOnDevice ? DecoderQuantizer.quantizeClassifier(w, recipe.format()) : null;
        QuantizedDecoders.Checkpoint base = new QuantizedDecoders.Checkpoint(QuantizedDecoders.checkpointKind(ckpt), QuantizedDecoders.checkpointSha256(ckpt), tok.file());
        QuantizedDecoders.save(out, w, base, r, classifier);
        List<QuantizedLayer> packed = new java.util.ArrayList<>(r.layerList());
        if (classifier != null) packed.add(classifier);
        System.out.printf("wrote %s: %s on %s (%d blocks), %d packed layers%s, %,d packed bytes, %.3f bits/weight, %s; embeddings, norms%s and %s carried, in %.1f s%n",
                out, recipe.format().id(), ckpt, w.config().nLayers(), packed.size(), classifier != null ? " (classifier included)" : "",
                QualityReport.packedBytes(packed), QualityReport.bitsPerWeight(packed),
                r.settings().get("algorithm") + (recipe.needsCalibration() ? " (" + calibrationIds.size() + " calibration sequences)" : ""),
                classifier != null || w.config().sharedClassifier() ? "" : ", FP32 classifier", tok.file().name(), (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    /** {@code --axbxp-budget} is for rtn-w8g&lt;g&gt; recipes and a budget in [0, 1): one line otherwise. */
    private void checkAxBxpBudget(QuantRecipe recipe) {
        checkSearchHasBudget(axbxpSearch, axbxpBudget);
        if (axbxpBudget == null) return;
        if (classifierOnDevice)
            throw new Main.UserException("--classifier-on-device: the Ax-BxP search configures the block layers only, so the classifier would have no "
                    + "configuration; leave it FP32 on the host");
        if (!io.qbridge.device.ActivationMode.AXBXP.takes(recipe.format()))
            throw new Main.UserException("--axbxp-budget: Ax-BxP runs on 8-bit symmetric INT weights (rtn-w8g<g>), not " + recipe.format().id());
        checkBudgetRange(axbxpBudget);
        searchMethod(axbxpSearch);
    }

    /** {@code --axbxp-budget E}, when given, is a relative error in [0, 1); else one line. */
    static void checkBudgetRange(Double axbxpBudget) {
        if (axbxpBudget != null && !(axbxpBudget >= 0 && axbxpBudget < 1)) throw new Main.UserException("--axbxp-budget must be in [0, 1), got " + axbxpBudget);
    }

    /** {@code --axbxp-search greedy} names how {@code --axbxp-budget} searches: without a budget it would be ignored, so it is one line. */
    static void checkSearchHasBudget(String axbxpSearch, Double axbxpBudget) {
        if (axbxpBudget == null && searchMethod(axbxpSearch) != AxBxpSearch.Method.FIRST_FIT)
            throw new Main.UserException("--axbxp-search: only with --axbxp-budget (it names how the budget is searched)");
    }

    /** The {@code --axbxp-search} method; a bad name is one line. */
    static AxBxpSearch.Method searchMethod(String id) {
        try {
            return AxBxpSearch.Method.parse(id);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException("--axbxp-search: " + e.getMessage());
        }
    }

    /** {@code r} with each layer's Ax-BxP configuration chosen within {@code budget} and added to its settings; the per-layer table on stderr. */
    static EncoderQuantizer.Result withAxBxp(EncoderQuantizer.Result r, java.util.List<int[]> calib, double budget, AxBxpSearch.Method method) {
        AxBxpSearch.Result s = searchAxBxp(r.layers(), () -> AxBxpCalibration.encoder(r.model(), calib, AXBXP_ROWS), budget, method);
        java.util.Map<String, String> settings = new java.util.LinkedHashMap<>(r.settings());
        settings.putAll(s.settings());
        return new EncoderQuantizer.Result(r.recipe(), r.layers(), r.model(), settings);
    }

    /**
     * A decoder's {@code r} with each block layer's Ax-BxP configuration chosen within {@code budget} on the inputs the
     * quantized decoder (on the host) gives its layers on the calibration sequences, added to its settings.
     */
    static DecoderQuantizer.Result withAxBxp(DecoderQuantizer.Result r, java.util.List<int[]> calib, double budget, AxBxpSearch.Method method) {
        AxBxpSearch.Result s = searchAxBxp(r.layerList(), () -> AxBxpCalibration.decoder(r.model(), calib, AXBXP_ROWS), budget, method);
        java.util.Map<String, String> settings = new java.util.LinkedHashMap<>(r.settings());
        settings.putAll(s.settings());
        return new DecoderQuantizer.Result(r.recipe(), r.layers(), r.model(), r.calibrationError(), settings);
    }

    /** The per-layer search on the rows {@code rows} captures (a progress step per layer), its table on stderr. */
    static AxBxpSearch.Result searchAxBxp(java.util.List<QuantizedLayer> layers, java.util.function.Supplier<java.util.Map<String, float[]>> rows, double budget,
                                          AxBxpSearch.Method method) {
        io.qbridge.device.PerfConfig perf = io.qbridge.device.PerfConfig.u55c();
        AxBxpSearch.Result s;
        try (Progress p = Progress.start("axbxp search (" + method.id + ")", layers.size())) {
            java.util.Map<String, float[]> x = rows.get();
            s = method == AxBxpSearch.Method.GREEDY ? AxBxpSearch.greedy(layers, x, budget, 2, perf, (name, done) -> p.step(1))
                    : AxBxpSearch.search(layers, x, budget, 2, perf, (name, done) -> p.step(1));
        }
        AxBxpReport.print(s, perf);
        return s;
    }

    /** Quantizes every linear layer with a progress bar (one step per layer, a line per calibration pass); shared by quantize and demo. */
    static EncoderQuantizer.Result withProgress(EncoderModel fp32, QuantRecipe recipe, java.util.List<int[]> calibration) {
        return withProgress(fp32, recipe, (onLayer, onCalibration) -> EncoderQuantizer.quantize(fp32, recipe, calibration, onLayer, onCalibration));
    }

    /**
     * Runs {@code quantize} (which reports each finished layer, and each calibration pass before it starts, to the
     * listeners it is given) under a progress bar of one step per linear layer: the one progress display of
     * quantize, demo, run, bench and estimate.
     */
    static <T, E extends Exception> T withProgress(EncoderModel fp32, QuantRecipe recipe, Quantization<T, E> quantize) throws E {
        try (Progress p = Progress.start("quantize " + recipe.name(), fp32.encoder().linears().size())) {
            return quantize.run((name, done) -> p.step(1), p::note);
        }
    }

    /** A quantization that reports each finished layer (name, layers done) and each calibration pass (one line, before it runs). */
    @FunctionalInterface
    interface Quantization<T, E extends Exception> {
        T run(java.util.function.BiConsumer<String, Integer> onLayer, java.util.function.Consumer<String> onCalibration) throws E;
    }
}
