package io.qbridge.cli;

import io.qbridge.axbxpsearch.AxBxpCalibration;
import io.qbridge.axbxpsearch.AxBxpSearch;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderEvaluator;
import io.qbridge.pipeline.QuantRecipe;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qbridge eval}: the quality table of several formats on one encoder. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Quantize an encoder with each format and print bits/weight, size, weight SQNR, layer-output error, embedding cosine to FP32 and recall@10.")
final class EvalCommand implements Callable<Integer> {
    static final String DEFAULT_FORMATS = "fp32,rtn-w4g128,gptq-w4g128,mxfp4,mxint8,microscopiq-w4,microscopiq-w2,fineq";

    @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
            description = "bge-small (default), minilm, or a LLaMA checkpoint (llama2.c .bin, .gguf or Hugging Face directory: perplexity on --text), or a decoder .qbz (its own format and tokenizer, on --text).")
    String model;

    @Option(names = "--text", paramLabel = "FILE", description = "For a LLaMA checkpoint: the text whose perplexity is measured (or --self-text).")
    java.nio.file.Path text;

    @Option(names = "--tokenizer", paramLabel = "TOK", description = "For a LLaMA checkpoint: tokenizer.bin or tokenizer.json (default: beside the model).")
    java.nio.file.Path tokenizer;

    @Option(names = "--window", defaultValue = "256", paramLabel = "N", description = "For a LLaMA checkpoint: positions per perplexity window (default 256, at most the model's).")
    int window;

    @Option(names = "--calib", paramLabel = "FILE",
            description = "For a LLaMA checkpoint: GPTQ calibration texts, one a line (default: the project's Europarl calibration sentences).")
    java.nio.file.Path calib;

    @Option(names = "--calib-sequences", defaultValue = "128", paramLabel = "N", description = "For a LLaMA checkpoint: calibration sequences for GPTQ-path recipes (default 128).")
    int calibSequences;

    @Option(names = "--self-text", paramLabel = "N",
            description = "For a LLaMA checkpoint without its tokenizer: measure on N sequences of --window tokens sampled from the FP32 model (fixed seed) and calibrate on --calib-sequences others.")
    Integer selfText;

    @Mixin EvalOptions opts;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print {\"model\":…, \"formats\":[{\"format\":…, \"bitsPerWeight\":…, …}]} on stdout (the quality figures only, no timings, so runs compare byte for byte).")
    boolean json;

    @Option(names = "--chart", paramLabel = "FILE.png",
            description = "Also draw bits/weight against cosine to FP32 (encoders) or perplexity (LLaMA), one point per format, the Pareto front marked.")
    java.nio.file.Path chart;

    /**
     * A recipe and, after a ':', the activation mode it runs with on the emulator (none: host, dequantized weights, FP32
     * activations); {@code axbxp} (Ax-BxP only): after {@code :axbxp=}, a uniform configuration (k2-x2d-w2d-full) or a per-layer search
     * budget (a number: layer-output relative error to FxP8); {@code :axbxp} alone searches with {@link #AXBXP_BUDGET}.
     */
    record Entry(QuantRecipe recipe, io.qbridge.device.ActivationMode device, String axbxp) {
        Entry(QuantRecipe recipe, io.qbridge.device.ActivationMode device) {
            this(recipe, device, null);
        }

        static Entry parse(String spec) {
            int colon = spec.indexOf(':');
            if (colon < 0) return new Entry(QuantRecipe.parse(spec), null);
            String mode = spec.substring(colon + 1), ax = null;
            int eq = mode.indexOf('=');
            if (eq >= 0) {
                ax = mode.substring(eq + 1);
                mode = mode.substring(0, eq);
            }
            io.qbridge.device.ActivationMode m;
            try {
                m = io.qbridge.device.ActivationMode.parse(mode);
                if (ax != null && m != io.qbridge.device.ActivationMode.AXBXP) throw new IllegalArgumentException("'=' takes a setting in the axbxp mode only");
                if (m == io.qbridge.device.ActivationMode.AXBXP) {
                    if (ax == null) ax = Double.toString(AXBXP_BUDGET);
                    if (searches(ax)) {
                        double b = Double.parseDouble(ax);
                        if (!(b >= 0 && b < 1)) throw new IllegalArgumentException("Ax-BxP budget must be in [0, 1), got " + ax);
                    } else io.qbridge.emulator.AxBxpPlan.parse(ax);
                }
            } catch (IllegalArgumentException e) {
                throw new Main.UserException("--formats " + spec + ": " + e.getMessage());
            }
            QuantRecipe r = QuantRecipe.parse(spec.substring(0, colon));
            if (r.format() == null) throw new Main.UserException("--formats " + spec + ": fp32 has no device path");
            if (!m.takes(r.format())) throw new Main.UserException("--formats " + spec + ": " + r.format().id() + " weights do not run with " + m.id() + " activations");
            return new Entry(r, m, ax);
        }

        String name() {
            return device == null ? recipe.name() : recipe.name() + ":" + device.id() + (axbxp == null ? "" : "=" + axbxp);
        }

        /** Whether this entry's Ax-BxP setting is a budget to search with (else a configuration, or none). */
        boolean searches() {
            return searches(axbxp);
        }

        static boolean searches(String axbxpSetting) {
            return axbxpSetting != null && axbxpSetting.matches("[0-9.]+");
        }

        /**
         * The plan the entry runs with: none without an Ax-BxP setting, its uniform configuration, or the per-layer
         * search's (its table on stderr) on the calibration input rows {@code rows} gives (asked for only when it searches).
         */
        io.qbridge.emulator.AxBxpPlan axbxpPlan(List<io.qbridge.pipeline.QuantizedLayer> layers, java.util.function.Supplier<java.util.Map<String, float[]>> rows,
                                                AxBxpSearch.Method method) {
            if (axbxp == null) return io.qbridge.emulator.EmulatorConfig.NO_AXBXP;
            if (!searches()) return io.qbridge.emulator.AxBxpPlan.uniform(io.qbridge.emulator.AxBxpPlan.parse(axbxp));
            return QuantizeCommand.searchAxBxp(layers, rows, Double.parseDouble(axbxp), method).plan();
        }

        /** The emulator an entry with an activation mode runs on (its Ax-BxP plan, if any, already chosen). */
        io.qbridge.emulator.EmulatorAccelerator emulator(io.qbridge.emulator.AxBxpPlan plan) {
            return new io.qbridge.emulator.EmulatorAccelerator(io.qbridge.emulator.EmulatorConfig.anyFormat(io.qbridge.device.PerfConfig.u55c())
                    .withActivations(device).withAxBxp(plan));
        }
    }

    @Option(names = "--activations", paramLabel = "MODE",
            description = "For a decoder .qbz: measure with its layers on the emulator in this activation mode (int8-token, mxint8, lobcq, or axbxp "
                    + "with the configurations the container stores); without it, the host path (dequantized layers, FP32 activations). "
                    + "For a checkpoint, name the mode in --formats (FORMAT:MODE).")
    String activations;

    static final String ACTIVATIONS_ONLY_FOR_A_CONTAINER = "--activations: only for a decoder .qbz; for a model or checkpoint name the mode per row in --formats (FORMAT:MODE)";

    @Option(names = "--axbxp-search", defaultValue = "first-fit", paramLabel = "first-fit|greedy",
            description = "For :axbxp=E rows: the Ax-BxP search, first-fit (default: each layer within E) or greedy (the RMS of the layer errors within E; docs/emulator.md §9b).")
    String axbxpSearch;

    /** The {@code --axbxp-search} method, checked before any work. */
    private AxBxpSearch.Method method;

    /** The default per-layer error budget of an {@code :axbxp} entry. */
    static final double AXBXP_BUDGET = 0.05;

    @Override
    public Integer call() throws java.io.IOException {
        method = QuantizeCommand.searchMethod(axbxpSearch);
        EncoderModel.Builtin base = EncoderModel.Builtin.byAlias(model);
        if (base == null) {
            if (json) throw new Main.UserException("--json: only for the encoders (bge-small, minilm); a LLaMA checkpoint prints its perplexity table");
            return evalDecoder();
        }
        if (activations != null) throw new Main.UserException(ACTIVATIONS_ONLY_FOR_A_CONTAINER);
        List<Entry> recipes = new ArrayList<>();
        for (String f : opts.formats) recipes.add(Entry.parse(f)); // all names checked before any work
        if (opts.heldOut < 10 || opts.heldOut > 1000 || opts.retrieval < 10 || opts.retrieval > 1000) throw new Main.UserException("--held-out and --retrieval must be in 10..1000");
        EncoderModel fp32 = EncoderModel.load(base);
        Log.info("embedding the FP32 reference (%d held-out + %d retrieval sentences)…", opts.heldOut, opts.retrieval);
        EncoderEvaluator.Sets sets = new EncoderEvaluator.Sets(128, opts.heldOut, opts.retrieval, 64);
        EncoderEvaluator ev = new EncoderEvaluator(fp32, sets);
        List<EncoderEvaluator.Row> rows = new ArrayList<>();
        int layers = fp32.encoder().linears().size();
        for (Entry e : recipes) {
            QuantRecipe r = e.recipe();
            try (Progress p = Progress.start(e.name(), layers)) {
                if (e.device() == null) {
                    rows.add(ev.evaluate(r, (name, done) -> p.step(1)));
                } else {
                    // quality through the emulator's datapath with that activation mode, not dequantized weights on the host
                    long t0 = System.nanoTime();
                    io.qbridge.pipeline.EncoderQuantizer.Result q = io.qbridge.pipeline.EncoderQuantizer.quantize(fp32, r, ev.calibration(), (name, done) -> p.step(1));
                    double secs = (System.nanoTime() - t0) / 1e9;
                    try (io.qbridge.emulator.EmulatorAccelerator dev = e.emulator(
                            e.axbxpPlan(q.layers(), () -> AxBxpCalibration.encoder(q.model(), ev.calibration(), QuantizeCommand.AXBXP_ROWS), method))) {
                        EncoderModel onDevice = io.qbridge.runtime.AcceleratorModels.onDevice(q, dev, new io.qbridge.runtime.RunStats());
                        rows.add(ev.evaluate(e.name(), q.layers(), onDevice, secs));
                    }
                }
            }
            Log.info("%s done", e.name());
        }
        if (chart != null) {
            List<io.qbridge.report.QualityChart.Point> pts = new ArrayList<>();
            for (EncoderEvaluator.Row r : rows) if (!r.recipe().equals("fp32")) pts.add(new io.qbridge.report.QualityChart.Point(r.recipe(), r.bitsPerWeight(), r.meanCosine()));
            io.qbridge.report.QualityChart.write(chart, base.alias + ": quality against size (" + opts.heldOut + " held-out sentences)", "mean cosine to FP32", true, pts);
            Log.info("chart written to %s", chart);
        }
        if (json) {
            System.out.write(io.qbridge.report.EvalReport.json(base.alias, sets, rows));
            System.out.flush();
        } else {
            print(base.alias, rows, opts.markdown);
        }
        return 0;
    }

    /**
     * Perplexity of a LLaMA checkpoint, FP32 and per recipe (transformer-block linears; GPTQ-path recipes
     * calibrated block by block on real text, or on self-generated text with {@code --self-text}).
     */
    private int evalDecoder() throws java.io.IOException {
        java.nio.file.Path ckpt = java.nio.file.Path.of(model);
        if (!java.nio.file.Files.exists(ckpt)) throw new Main.UserException(model + ": not bge-small or minilm, and no such LLaMA checkpoint");
        if (QbzInfo.isContainer(ckpt)) return evalContainer(ckpt);
        if (activations != null) throw new Main.UserException(ACTIVATIONS_ONLY_FOR_A_CONTAINER);
        if ((text == null) == (selfText == null)) {
            throw new Main.UserException("eval of a LLaMA checkpoint needs exactly one of --text FILE (the text to measure perplexity on) or --self-text N");
        }
        List<Entry> entries = new ArrayList<>();
        for (String f : opts.formats) entries.add(Entry.parse(f)); // all names checked before any work
        List<QuantRecipe> recipes = entries.stream().map(Entry::recipe).toList();
        io.qbridge.model.llama.LlamaWeights w = DecoderCheckpoints.load(ckpt);
        int win = Math.min(window, w.config().seqLen());
        if (win < 2) throw new Main.UserException("--window must be at least 2");
        // Every quantized row gets its calibration error, so RTN rows are calibrated (measured) too.
        boolean calibrate = recipes.stream().anyMatch(r -> r.format() != null);
        List<int[]> sequences, calibration = List.of();
        String measured, calibratedOn = null;
        if (selfText != null) {
            if (selfText < 1) throw new Main.UserException("--self-text must be >= 1");
            if (calib != null) throw new Main.UserException("--self-text calibrates on self-generated text too; --calib does not apply");
            Log.info("sampling %d sequences of up to %d tokens from the FP32 model (seed %d)…", selfText, win, io.qbridge.pipeline.DecoderSamples.TEXT_SEED);
            sequences = io.qbridge.pipeline.DecoderSamples.sample(w, selfText, win, io.qbridge.pipeline.DecoderSamples.TEXT_SEED);
            measured = selfText + " sequences sampled from the FP32 model (temperature 1, seed " + io.qbridge.pipeline.DecoderSamples.TEXT_SEED + ")";
            if (calibrate) {
                calibration = io.qbridge.pipeline.DecoderSamples.sample(w, calibSequences, win, io.qbridge.pipeline.DecoderSamples.CALIBRATION_SEED);
                calibratedOn = calibSequences + " other self-generated sequences (seed " + io.qbridge.pipeline.DecoderSamples.CALIBRATION_SEED + ")";
            }
        } else {
            io.qbridge.tokenizer.TextTokenizer tok = DecoderCheckpoints.tokenizer(ckpt, tokenizer, w.config().vocabSize());
            int[] ids = tok.encode(String.join("\n", io.qbridge.data.EvalCorpus.readLines(text)), false, false);
            if (ids.length == 0) throw new Main.UserException(text + ": no tokens to measure");
            sequences = io.qbridge.pipeline.DecoderEvaluator.windows(w.config().bosTokenId(), ids, win);
            measured = text + " (" + ids.length + " tokens, windows of " + win + " positions from BOS)";
            if (calibrate) {
                calibration = DecoderCheckpoints.calibration(calib, calibSequences, tok, w);
                calibratedOn = (calib != null ? calib.toString() : "the Europarl calibration split") + ", " + calibration.size() + " sequences, "
                        + calibration.stream().mapToInt(a -> a.length).sum() + " tokens";
            }
        }
        List<String[]> cells = new ArrayList<>();
        List<io.qbridge.report.QualityChart.Point> pts = new ArrayList<>();
        boolean anyDevice = false;
        for (Entry e : entries) {
            QuantRecipe r = e.recipe();
            anyDevice |= e.device() != null;
            io.qbridge.pipeline.DecoderEvaluator.Row row;
            List<io.qbridge.emulator.EmulatorAccelerator> opened = new ArrayList<>();
            try (Progress p = Progress.start(e.name(), w.config().nLayers())) {
                int[] last = {0};
                row = io.qbridge.pipeline.DecoderEvaluator.evaluate(w, r, e.name(), sequences, calibration, done -> {
                    p.step(done - last[0]);
                    last[0] = done;
                }, e.device() == null ? io.qbridge.pipeline.DecoderEvaluator.Placement.HOST : onEmulator(e, calibration, method, opened));
            } catch (IllegalArgumentException x) {
                // A format that cannot hold this model's shapes (e.g. K not a multiple of its block): say so in
                // its row and go on with the others.
                Log.info("%s: %s", e.name(), x.getMessage());
                cells.add(new String[] {e.name(), "n/a", "-", "-", "-", "n/a: " + x.getMessage(), "-"});
                continue;
            } finally {
                for (io.qbridge.emulator.EmulatorAccelerator d : opened) d.close();
            }
            Log.info("%s done", e.name());
            if (r.format() != null) pts.add(new io.qbridge.report.QualityChart.Point(row.recipe(), row.bitsPerWeight(), row.perplexity()));
            cells.add(new String[] {row.recipe(), String.format("%.3f", row.bitsPerWeight()), String.format("%.2f", row.packedBytes() / 1e6),
                    Double.isInfinite(row.weightSqnrDb()) ? "-" : String.format("%.2f", row.weightSqnrDb()),
                    Double.isNaN(row.calibrationError()) ? "-" : String.format("%.4f", row.calibrationError()), String.format("%.5g", row.perplexity()),
                    String.format("%.1f", row.seconds())});
        }
        System.out.printf("%nModel %s (%d layers, dim %d, %.2fM parameters): perplexity on %s; transformer-block linear layers quantized, classifier FP32%n",
                ckpt, w.config().nLayers(), w.config().dim(), w.config().parameterCount() / 1e6, measured);
        if (calibratedOn != null) System.out.printf("Calibration (GPTQ-path recipes, and the calib err column%s) on %s%n",
                entries.stream().anyMatch(Entry::searches) ? ", and the Ax-BxP search's first " + QuantizeCommand.AXBXP_ROWS + " tokens" : "", calibratedOn);
        if (anyDevice) System.out.printf("Rows FORMAT:MODE: the block layers run on the emulator with that activation mode (token by token, as generate --device emulator); W SQNR and calib err are the weights' on the host%n");
        System.out.println();
        table(new String[] {"format", "bits/w", "packed MB", "W SQNR dB", "calib err", "perplexity", "s"}, "%-18s %8s %10s %10s %10s %12s %8s%n", cells, opts.markdown);
        if (chart != null) {
            io.qbridge.report.QualityChart.write(chart, ckpt.getFileName() + ": perplexity against size", "perplexity", false, pts);
            Log.info("chart written to %s", chart);
        }
        return 0;
    }

    /**
     * The placement of a {@code FORMAT:MODE} row: the quantized block layers on an emulator in that activation mode (Ax-BxP:
     * with the entry's uniform configuration, or the per-layer search on the decoder's calibration sequences), through
     * {@link io.qbridge.runtime.AcceleratorModels#decoderOnDevice}, the code {@code generate --device emulator} runs. The
     * emulators it opens are added to {@code opened} for the caller to close.
     */
    static io.qbridge.pipeline.DecoderEvaluator.Placement onEmulator(Entry e, List<int[]> calibration, AxBxpSearch.Method method,
                                                                      List<io.qbridge.emulator.EmulatorAccelerator> opened) {
        return (fp32, q) -> {
            io.qbridge.emulator.AxBxpPlan plan = e.axbxpPlan(q.layerList(), () -> AxBxpCalibration.decoder(q.model(), calibration, QuantizeCommand.AXBXP_ROWS), method);
            io.qbridge.emulator.EmulatorAccelerator dev = e.emulator(plan);
            opened.add(dev);
            return io.qbridge.runtime.AcceleratorModels.decoderOnDevice(fp32, q.layers(), dev, new io.qbridge.runtime.RunStats());
        };
    }

    /**
     * Perplexity of a decoder .qbz on {@code --text}, with the tokenizer and the layers it carries (host path,
     * exact dequantized weights: the number {@code eval} prints for its format on the checkpoint it came from).
     * It holds no FP32 block weights, so the weight SQNR and calibration error columns are empty.
     */
    private int evalContainer(java.nio.file.Path qbz) throws java.io.IOException {
        if (text == null) throw new Main.UserException("eval of a decoder .qbz needs --text FILE (--self-text samples the FP32 model, which a .qbz does not hold)");
        boolean formatsGiven = spec.commandLine().getParseResult().hasMatchedOption("--formats");
        if (selfText != null || tokenizer != null || calib != null || formatsGiven) {
            throw new Main.UserException((selfText != null ? "--self-text" : tokenizer != null ? "--tokenizer" : calib != null ? "--calib" : "--formats") + ": " + qbz
                    + " is a .qbz with its own tokenizer and layers; give only --text");
        }
        io.qbridge.device.ActivationMode mode;
        try {
            mode = activations == null ? null : io.qbridge.device.ActivationMode.parse(activations);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException("--activations: " + e.getMessage());
        }
        long t0 = System.nanoTime();
        io.qbridge.pipeline.QuantizedDecoders.Loaded q = io.qbridge.pipeline.QuantizedDecoders.load(qbz);
        io.qbridge.pipeline.DecoderEvaluator.ContainerRow row;
        String measured = String.join("\n", io.qbridge.data.EvalCorpus.readLines(text));
        try {
            io.qbridge.tokenizer.TextTokenizer tok = q.textTokenizer(qbz.toString());
            row = mode == null ? io.qbridge.pipeline.DecoderEvaluator.evaluateContainer(q, tok, measured, window) : onEmulator(q, mode, qbz, tok, measured, window);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(e.getMessage().startsWith("window") ? "--" + e.getMessage() : text + ": " + e.getMessage());
        }
        printContainer(qbz.toString(), q.manifest().model(), q.model().config().nLayers(), q.model().config().dim(), text.toString(), row,
                q.classifier() != null, (System.nanoTime() - t0) / 1e9, opts.markdown);
        return 0;
    }

    /**
     * A decoder container's row with its layers on the emulator in {@code mode}, as {@code generate --model x.qbz --device
     * emulator --activations MODE} runs them (axbxp: the configurations the container stores).
     */
    private static io.qbridge.pipeline.DecoderEvaluator.ContainerRow onEmulator(io.qbridge.pipeline.QuantizedDecoders.Loaded q, io.qbridge.device.ActivationMode mode,
            java.nio.file.Path qbz, io.qbridge.tokenizer.TextTokenizer tok, String measured, int window) {
        io.qbridge.emulator.EmulatorConfig cfg = io.qbridge.emulator.EmulatorConfig.defaults().withActivations(mode);
        try {
            cfg = io.qbridge.runtime.AcceleratorModels.forContainer(cfg, q, null);
        } catch (IllegalArgumentException e) {
            throw notOnDevice(mode, qbz, e);
        }
        try (io.qbridge.emulator.EmulatorAccelerator emu = new io.qbridge.emulator.EmulatorAccelerator(cfg)) {
            io.qbridge.model.llama.LlamaWeights w;
            try {
                w = io.qbridge.runtime.AcceleratorModels.containerOnDevice(q, emu, new io.qbridge.runtime.RunStats());
            } catch (IllegalArgumentException e) {
                throw notOnDevice(mode, qbz, e);
            }
            return io.qbridge.pipeline.DecoderEvaluator.evaluateContainer(q, w, mode.id(), tok, measured, window);
        }
    }

    private static Main.UserException notOnDevice(io.qbridge.device.ActivationMode mode, java.nio.file.Path qbz, IllegalArgumentException e) {
        return new Main.UserException("--activations " + mode.id() + ": " + qbz + ": " + e.getMessage());
    }

    /** The table {@code eval} prints for a decoder container, locally and for a remote eval job ({@code submit eval}). */
    static void printContainer(String qbz, String model, int layers, int dim, String text, io.qbridge.pipeline.DecoderEvaluator.ContainerRow row,
                               boolean classifierPacked, double seconds, boolean markdown) {
        List<String[]> cells = new ArrayList<>();
        cells.add(new String[] {row.recipe(), String.format("%.3f", row.bitsPerWeight()), String.format("%.2f", row.packedBytes() / 1e6), "-", "-",
                String.format("%.5g", row.perplexity()), String.format("%.1f", seconds)});
        System.out.printf("%nModel %s (%s, %d layers, dim %d): perplexity on %s (%d tokens, windows of %d positions from BOS); transformer-block linear layers as the container packs them, classifier %s%n",
                qbz, model, layers, dim, text, row.tokens(), row.window(), classifierPacked ? "packed too" : "FP32");
        System.out.println();
        table(new String[] {"format", "bits/w", "packed MB", "W SQNR dB", "calib err", "perplexity", "s"}, "%-18s %8s %10s %10s %10s %12s %8s%n", cells, markdown);
    }

    static void print(String model, List<EncoderEvaluator.Row> rows, boolean markdown) {
        String[] head = {"format", "bits/w", "packed MB", "W SQNR dB", "layer err", "cos to FP32", "recall@10", "quant s"};
        List<String[]> cells = new ArrayList<>();
        for (EncoderEvaluator.Row r : rows) {
            cells.add(new String[] {r.recipe(), String.format("%.3f", r.bitsPerWeight()), String.format("%.2f", r.packedBytes() / 1e6),
                    Double.isInfinite(r.weightSqnrDb()) ? "-" : String.format("%.2f", r.weightSqnrDb()),
                    r.recipe().equals("fp32") ? "-" : String.format("%.4f", r.layerOutputError()), String.format("%.5f", r.meanCosine()),
                    String.format("%.4f", r.recallAt10()), String.format("%.1f", r.quantizeSeconds())});
        }
        System.out.printf("%nModel %s: linear layers only (embeddings and norms stay FP32)%n%n", model);
        table(head, "%-18s %8s %10s %10s %10s %12s %10s %8s%n", cells, markdown);
    }

    /** One result table: Markdown, or fixed-width columns in {@code fmt}. */
    private static void table(String[] head, String fmt, List<String[]> cells, boolean markdown) {
        if (markdown) {
            System.out.println("| " + String.join(" | ", head) + " |");
            System.out.println("|" + " --- |".repeat(head.length));
            for (String[] c : cells) System.out.println("| " + String.join(" | ", c) + " |");
        } else {
            System.out.printf(fmt, (Object[]) head);
            for (String[] c : cells) System.out.printf(fmt, (Object[]) c);
        }
    }
}
