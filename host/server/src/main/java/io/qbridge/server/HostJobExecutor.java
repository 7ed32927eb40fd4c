package io.qbridge.server;

import io.qbridge.data.EvalCorpus;
import io.qbridge.device.Accelerator;
import io.qbridge.device.ActivationMode;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.device.PerfConfig;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderEvaluator;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.FileBase;
import io.qbridge.pipeline.QualityReport;
import io.qbridge.pipeline.PreparedEncoder;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedEncoders;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.pipeline.DecoderEvaluator;
import io.qbridge.pipeline.TextGeneration;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.BenchLayer;
import io.qbridge.protocol.v1.BenchResult;
import io.qbridge.protocol.v1.BenchSpec;
import io.qbridge.protocol.v1.DecoderEvalResult;
import io.qbridge.protocol.v1.DecoderEvalSpec;
import io.qbridge.protocol.v1.Device;
import io.qbridge.protocol.v1.DeviceCost;
import io.qbridge.protocol.v1.DeviceKind;
import io.qbridge.protocol.v1.Embedding;
import io.qbridge.protocol.v1.EvalResult;
import io.qbridge.protocol.v1.EvalRow;
import io.qbridge.protocol.v1.EvalSpec;
import io.qbridge.protocol.v1.GenerateResult;
import io.qbridge.protocol.v1.GenerateSpec;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.protocol.v1.Percentiles;
import io.qbridge.protocol.v1.QuantizeResult;
import io.qbridge.protocol.v1.QuantizeSpec;
import io.qbridge.protocol.v1.RunResult;
import io.qbridge.protocol.v1.RunSpec;
import io.qbridge.report.BenchReport;
import io.qbridge.report.EvalReport;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.EncoderBench;
import io.qbridge.runtime.RunStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Quantize, run, bench and eval jobs, and generate and eval jobs of an uploaded decoder .qbz, computed exactly as
 * {@code qbridge quantize}, {@code embed}, {@code bench}, {@code eval} and {@code generate} compute them locally (same library calls, same order), so remote results
 * are bit-identical to local ones and the bench and eval JSON artifacts are what the local commands print.
 * Specs arrive validated ({@link SpecValidator}).
 *
 * <p>Bench jobs compute on an {@link Accelerator} from an {@link AcceleratorSource} (the device layer's
 * {@code emulator|xrt|auto} choice); the device work runs under {@link DeviceWatch}, so a device that
 * fails or hangs fails the job with a message naming it, or, when the job allows it, the bench is run
 * again on the emulator and the job's log says so.
 *
 * <p>A model named by sha256 (an upload or an earlier job's {@code .qbz}) and a {@code .qbz}'s file base are
 * brought into this server's store before they are loaded ({@link JobContext#ensureStored}: in a fleet, copied
 * from the shared database and checked); one that is gone, or whose shared copy is corrupt, fails the job
 * with a message starting {@code DATA_LOSS:}.
 */
public final class HostJobExecutor implements JobExecutor {
    /** How long one layer run may take on a device before the job gives up on it. */
    public static final Duration DEFAULT_DEVICE_RUN_TIMEOUT = Duration.ofSeconds(60);
    static final String DEFAULT_BENCH_FORMAT = "microscopiq-w4@rtn";
    static final int DEFAULT_BENCH_RUNS = 10;
    static final int DEFAULT_BENCH_WARMUP = 3;

    private final ComputeDevice device;
    private final AcceleratorSource accelerators;
    private final long deviceRunTimeoutMillis;
    /** Built-in FP32 models are immutable once loaded; loading one costs a second, so each loads once. */
    private final Map<EncoderModel.Builtin, EncoderModel> builtins = new ConcurrentHashMap<>();

    public HostJobExecutor(ComputeDevice device) {
        this(device, AcceleratorSource.DEVICES, DEFAULT_DEVICE_RUN_TIMEOUT);
    }

    /**
     * @param accelerators     opens the accelerator a bench job names
     * @param deviceRunTimeout the longest one layer run may stay in flight on a device
     */
    public HostJobExecutor(ComputeDevice device, AcceleratorSource accelerators, Duration deviceRunTimeout) {
        this.device = device;
        this.accelerators = accelerators;
        this.deviceRunTimeoutMillis = deviceRunTimeout.toMillis();
    }

    public ComputeDevice device() {
        return device;
    }

    @Override
    public JobResult execute(StoredJob job, JobContext ctx) throws Exception {
        ensureModelStored(switch (job.spec().getKindCase()) {
            case QUANTIZE -> job.spec().getQuantize().getModel();
            case RUN -> job.spec().getRun().getModel();
            case BENCH -> job.spec().getBench().getModel();
            case DECODER_EVAL -> job.spec().getDecoderEval().getModel();
            case GENERATE -> job.spec().getGenerate().getModel();
            case EVAL, KIND_NOT_SET -> ModelRef.getDefaultInstance();
        }, ctx);
        return switch (job.spec().getKindCase()) {
            case QUANTIZE -> JobResult.newBuilder().setQuantize(quantize(job.spec().getQuantize(), ctx)).build();
            case RUN -> JobResult.newBuilder().setRun(run(job.spec().getRun(), ctx)).build();
            case BENCH -> JobResult.newBuilder().setBench(bench(job.spec().getBench(), ctx)).build();
            case EVAL -> JobResult.newBuilder().setEval(eval(job.spec().getEval(), ctx)).build();
            case DECODER_EVAL -> JobResult.newBuilder().setDecoderEval(decoderEval(job.spec().getDecoderEval(), ctx)).build();
            case GENERATE -> JobResult.newBuilder().setGenerate(generate(job.spec().getGenerate(), ctx)).build();
            case KIND_NOT_SET -> throw new IllegalArgumentException("the job has no kind");
        };
    }

    /**
     * The stored file a validated ref names, here before the job loads it. Validation saw it (here or, in a
     * fleet, in the shared database), so a file gone now was removed or lost in between: DATA_LOSS.
     */
    private static void ensureModelStored(ModelRef ref, JobContext ctx) throws java.io.IOException {
        String what = ref.hasUploadSha256() ? "upload" : ref.hasArtifactSha256() ? "artifact" : null;
        if (what == null) return;
        String sha = ref.hasUploadSha256() ? ref.getUploadSha256() : ref.getArtifactSha256();
        if (!ctx.ensureStored(sha)) {
            throw new java.io.IOException("DATA_LOSS: the job's model, " + what + " " + sha + ", is gone: neither this server's store nor the fleet's shared database"
                    + " (if any) holds it any more, though it was there when the job was submitted");
        }
    }

    /**
     * As {@code qbridge quantize}: a built-in, or an uploaded BERT .onnx with the tokenizer and pooling of its
     * {@code tokenizer_of} (as {@code qbridge quantize --model FILE.onnx} with that tokenizer.json beside the
     * file), so the .qbz is byte-identical to the local one.
     */
    private QuantizeResult quantize(QuantizeSpec spec, JobContext ctx) throws Exception {
        QuantRecipe recipe = QuantRecipe.parse(spec.getFormat());
        int calibration = spec.getCalibration() == 0 ? EvalCorpus.Split.CALIBRATION.count : spec.getCalibration();
        EncoderModel.Builtin base = null;
        FileBase file = null;
        EncoderModel fp32;
        if (spec.getModel().hasUploadSha256()) {
            file = UploadedModels.fileBase(spec.getModel(), ctx.artifacts());
            EncoderModel.Builtin tok = EncoderModel.Builtin.byAlias(spec.getModel().getTokenizerOf());
            fp32 = file.model(tok.pooling);
            ctx.log("loaded uploaded BERT .onnx " + file.onnxSha256() + " with the tokenizer and pooling of " + tok.alias + " as " + file.label());
        } else {
            base = EncoderModel.Builtin.byAlias(spec.getModel().getBuiltin());
            fp32 = builtin(base);
        }
        String name = base != null ? base.alias : file.label();
        // as qbridge quantize does: RTN recipes ignore the calibration ids
        List<int[]> calib = EncoderQuantizer.calibrationIds(fp32, calibration);
        int layers = fp32.encoder().linears().size();
        ctx.log("quantizing " + name + " with " + recipe.name() + " (" + recipe.algorithm().name().toLowerCase() + ", " + layers + " layers)");
        ctx.checkpoint();
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, recipe, calib, (layer, done) -> {
            ctx.progress(done / (double) (layers + 1), layer);
            ctx.checkpoint();
        });
        Path tmp = ctx.artifacts().newTempFile(".qbz");
        try {
            if (base != null) QuantizedEncoders.save(tmp, base, r);
            else QuantizedEncoders.save(tmp, file, fp32.pooling(), r);
            Artifact a = ctx.artifacts().adopt(tmp, name + "-" + recipe.name().replace('@', '-') + ".qbz");
            ctx.progress(1, "saved");
            ctx.log("wrote " + a.getName() + ": " + a.getSize() + " bytes, sha256 " + a.getSha256());
            return QuantizeResult.newBuilder().setContainer(a).setLayers(r.layers().size()).setBitsPerWeight(QualityReport.bitsPerWeight(r.layers())).build();
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private RunResult run(RunSpec spec, JobContext ctx) throws Exception {
        if (ctx.device() instanceof ComputeDevice.OnAccelerator || SpecValidator.ACCELERATOR_CHOICES.contains(spec.getDevice())) {
            return runOnAccelerator(spec, ctx);
        }
        EncoderModel model = ctx.device().bind(spec.getModel().hasUploadSha256() ? UploadedModels.load(spec.getModel(), spec.getFormat(), ctx)
                : model(spec.getModel(), spec.getFormat(), ctx));
        List<int[]> ids = model.tokenize(spec.getSentencesList(), i -> ctx.log("warning: sentence " + (i + 1) + " was truncated to "
                + model.encoder().config().maxPositions() + " tokens"));
        int total = ids.size();
        int[] done = {0};
        ctx.checkpoint();
        float[][] emb = model.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS, n -> {
            done[0] += n;
            ctx.progress(done[0] / (double) total, "embedded " + done[0] + " of " + total);
            ctx.checkpoint();
        });
        return runResult(model.name(), emb);
    }

    private static RunResult runResult(String model, float[][] emb) {
        RunResult.Builder b = RunResult.newBuilder().setModel(model).setDim(emb.length == 0 ? 0 : emb[0].length);
        for (float[] e : emb) {
            Embedding.Builder eb = Embedding.newBuilder();
            for (float v : e) eb.addValues(v);
            b.addEmbeddings(eb);
        }
        return b.build();
    }

    /** A run with every linear layer on the accelerator the device layer opens (as {@code qbridge run}), falling back to the emulator if allowed. */
    private RunResult runOnAccelerator(RunSpec spec, JobContext ctx) throws Exception {
        PreparedEncoder prep = prepare(spec.getModel(), spec.getFormat(), ctx, 0.3);
        EmulatorConfig emulator = withAxBxp(EmulatorConfig.defaults().withActivations(activations(spec.getActivations())), spec.getModel(), ctx);
        DeviceWatch.Body<float[][]> embed = dev -> {
            ctx.log("embedding " + spec.getSentencesCount() + " sentences with " + prep.name() + " " + prep.format() + " on " + dev.name());
            EncoderModel model = AcceleratorModels.onDevice(prep.base(), prep.layers(), dev, new RunStats());
            List<int[]> ids = model.tokenize(spec.getSentencesList(), i -> ctx.log("warning: sentence " + (i + 1) + " was truncated to "
                    + model.encoder().config().maxPositions() + " tokens"));
            int[] done = {0};
            return model.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS, n -> {
                done[0] += n;
                ctx.progress(0.3 + 0.7 * done[0] / ids.size(), "embedded " + done[0] + " of " + ids.size());
                ctx.checkpoint();
            });
        };
        float[][] emb;
        try {
            emb = onAccelerator(spec.getDevice(), false, emulator, ctx, embed);
        } catch (DeviceWatch.DeviceFailure e) {
            if (!spec.getAllowFallback()) throw new IllegalStateException(e.getMessage() + " (the job does not allow falling back to the emulator)", e);
            ctx.log(e.getMessage() + "; running the job again on the emulator (the job allows fallback)");
            emb = onAccelerator("emulator", true, emulator, ctx, embed);
        }
        return runResult(prep.name(), emb);
    }

    /**
     * In the axbxp mode, the per-layer Ax-BxP configurations the job's container holds (its manifest's {@code axbxp.<layer>}
     * settings); a model that is not a container has none, and the job is refused in one line.
     */
    private static EmulatorConfig withAxBxp(EmulatorConfig e, ModelRef ref, JobContext ctx) throws java.io.IOException {
        if (e.activations() != ActivationMode.AXBXP) return e;
        String container = ref.hasArtifactSha256() ? ref.getArtifactSha256() : UploadedModels.isContainer(ref, ctx.artifacts()) ? ref.getUploadSha256() : null;
        if (container == null)
            throw new IllegalArgumentException("activations: axbxp runs a .qbz quantized with --axbxp-budget (it holds each layer's Ax-BxP configuration); "
                    + (ref.hasBuiltin() ? "the built-in model " + ref.getBuiltin() : "an uploaded .onnx") + " has none");
        return e.withAxBxp(io.qbridge.emulator.AxBxpPlan.fromSettings(io.qbridge.container.QbzFile.readManifest(ctx.artifacts().path(container)).settings()));
    }

    /** A job's activation mode: "" is the default, INT8 per token (the name was checked at submit). */
    private static ActivationMode activations(String name) {
        return name.isEmpty() ? ActivationMode.INT8_PER_TOKEN : ActivationMode.parse(name);
    }

    /**
     * Opens the accelerator {@code choice} names and runs {@code body} on it under {@link DeviceWatch}; every
     * failure of the device (it cannot be opened, a run throws or hangs) becomes a {@link DeviceWatch.DeviceFailure}.
     */
    private <T> T onAccelerator(String choice, boolean fallback, EmulatorConfig emulator, JobContext ctx, DeviceWatch.Body<T> body)
            throws DeviceWatch.DeviceFailure, InterruptedException {
        // A board the scheduler gave the job (exclusive: one job at a time); else the device layer opens one: the
        // emulator is software, so each job gets its own, configured as the job asks (preset); a fallback too.
        boolean borrowed = ctx.device() instanceof ComputeDevice.Board && !fallback;
        Accelerator opened;
        try {
            opened = borrowed ? ((ComputeDevice.Board) ctx.device()).accelerator() : accelerators.open(choice, emulator, ctx::log);
        } catch (RuntimeException e) {
            throw new DeviceWatch.DeviceFailure("device '" + choice + "' cannot be opened: " + e.getMessage(), e);
        }
        boolean lentAsIs = borrowed;
        if (borrowed) {
            // `serve` opened the board once, with INT8 per-token activations: an XRT board runs the job with the job's own
            // configuration (activation mode, Ax-BxP plan) through a view of its loaded bitstream; a board that cannot
            // (not an XRT device) takes INT8 per-token jobs only. Not a device failure (no fallback).
            Accelerator view;
            try {
                view = io.qbridge.runtime.Devices.forJob(opened, emulator);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(opened.describe().name() + ": " + e.getMessage(), e);
            }
            if (view != null) {
                opened = view;
                lentAsIs = false;
            } else if (emulator.activations() != ActivationMode.INT8_PER_TOKEN)
                throw new IllegalArgumentException(opened.describe().name() + " takes int8-token activations only; " + emulator.activations() + " runs on the emulator (--device emulator)");
        } // a device opened here for the job was opened with the job's configuration
        // the job closes what is its own at the end: a device opened for it, or its view of the served board (which frees
        // the view's layers, also those loaded after an abort, and leaves the board open); a served board lent as it is
        // only has the job's layers unloaded
        try (DeviceWatch.Watched dev = new DeviceWatch.Watched(opened, lentAsIs)) {
            return DeviceWatch.supervise(ctx, dev, deviceRunTimeoutMillis, () -> body.run(dev));
        }
    }

    /** The model a run names: a built-in (optionally quantized on the fly with a recipe) or a stored .qbz. */
    private EncoderModel model(ModelRef ref, String format, JobContext ctx) throws Exception {
        if (ref.hasArtifactSha256()) {
            // the path comes from the store's own naming of a validated digest, never from the client
            String sha = ref.getArtifactSha256();
            PreparedEncoder q = PreparedEncoder.prepare(container(sha, ctx), "", null);
            ctx.log("loaded container " + sha + ": " + q.format() + " on " + q.name());
            return q.hostModel();
        }
        EncoderModel fp32 = builtin(EncoderModel.Builtin.byAlias(ref.getBuiltin()));
        return UploadedModels.hostModel(new PreparedEncoder.Source.Fp32(fp32.name(), fp32), format, ctx);
    }

    /** A stored or uploaded container by its validated digest; a file base it names comes from this server's uploads. */
    static PreparedEncoder.Source container(String sha256, JobContext ctx) {
        return new PreparedEncoder.Source.Container(ctx.artifacts().path(sha256), UploadedModels.bases(ctx.artifacts(), ctx::ensureStored));
    }

    /**
     * The packed model a bench or device run names: a stored or uploaded .qbz, or a built-in or uploaded .onnx
     * quantized here (progress up to {@code progressShare}).
     */
    private PreparedEncoder prepare(ModelRef ref, String format, JobContext ctx, double progressShare) throws Exception {
        String container = ref.hasArtifactSha256() ? ref.getArtifactSha256()
                : UploadedModels.isContainer(ref, ctx.artifacts()) ? ref.getUploadSha256() : null;
        if (container != null) {
            PreparedEncoder q;
            try {
                q = PreparedEncoder.prepare(container(container, ctx), format, null);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("format: container " + container + ": " + e.getMessage(), e);
            }
            ctx.log("loaded container " + container + ": " + q.format() + " on " + q.name());
            return q;
        }
        EncoderModel fp32 = ref.hasUploadSha256() ? UploadedModels.load(ref, "", ctx) : builtin(EncoderModel.Builtin.byAlias(ref.getBuiltin()));
        QuantRecipe recipe = QuantRecipe.parse(format.isEmpty() ? DEFAULT_BENCH_FORMAT : format);
        int layers = fp32.encoder().linears().size();
        ctx.log("quantizing " + fp32.name() + " with " + recipe.name() + " (" + recipe.algorithm().name().toLowerCase() + ", " + layers + " layers)");
        ctx.checkpoint();
        return PreparedEncoder.prepare(new PreparedEncoder.Source.Fp32(fp32.name(), fp32), format.isEmpty() ? DEFAULT_BENCH_FORMAT : format, (name, done) -> {
            ctx.progress(progressShare * done / layers, name);
            ctx.checkpoint();
        });
    }

    private BenchResult bench(BenchSpec spec, JobContext ctx) throws Exception {
        String choice = spec.getDevice().isEmpty() ? "auto" : spec.getDevice();
        EmulatorConfig emulator = new EmulatorConfig(PerfConfig.preset(spec.hasPreset() ? spec.getPreset() : "u55c"), EmulatorConfig.DEFAULT_FORMATS)
                .withActivations(activations(spec.getActivations()));
        emulator = withAxBxp(emulator, spec.getModel(), ctx);
        PreparedEncoder prep = prepare(spec.getModel(), spec.getFormat(), ctx, 0.3);
        List<String> all = EvalCorpus.split(EvalCorpus.Split.BENCH);
        List<String> sentences = spec.getSentences() == 0 ? all : all.subList(0, spec.getSentences());
        int runs = spec.getRepeats() == 0 ? DEFAULT_BENCH_RUNS : spec.getRepeats();
        int warmup = spec.hasWarmup() ? spec.getWarmup() : DEFAULT_BENCH_WARMUP;
        BenchReport report;
        boolean fellBack = false;
        try {
            report = benchOn(choice, false, emulator, prep, sentences, runs, warmup, spec.getCompareFp32(), ctx);
        } catch (DeviceWatch.DeviceFailure e) {
            if (!spec.getAllowFallback()) throw new IllegalStateException(e.getMessage() + " (the job does not allow falling back to the emulator)", e);
            ctx.log(e.getMessage() + "; running the bench again on the emulator (the job allows fallback)");
            fellBack = true;
            report = benchOn("emulator", true, emulator, prep, sentences, runs, warmup, spec.getCompareFp32(), ctx);
        }
        ctx.checkpoint();
        String base = prep.name() + "-" + prep.format() + "-bench";
        Artifact json = ctx.artifacts().write(base + ".json", report.json());
        Artifact chart = ctx.artifacts().write(base + ".png", report.chartPng());
        ctx.progress(1, "saved");
        ctx.log("wrote " + json.getName() + " and " + chart.getName());
        return toProto(report, json, chart, fellBack);
    }

    /** One whole bench on the device {@code choice} names. */
    private BenchReport benchOn(String choice, boolean fallback, EmulatorConfig emulator, PreparedEncoder prep, List<String> sentences, int runs, int warmup, boolean compareFp32,
                                JobContext ctx) throws DeviceWatch.DeviceFailure, InterruptedException {
        return onAccelerator(choice, fallback, emulator, ctx, dev -> {
            ctx.log("bench on " + dev.name() + ": " + sentences.size() + " sentences, " + runs + " runs after " + warmup + " warm-up");
            RunStats stats = new RunStats();
            EncoderModel model = AcceleratorModels.onDevice(prep.base(), prep.layers(), dev, stats);
            List<int[]> ids = model.tokenize(sentences, null);
            EncoderBench.Samples s = EncoderBench.measure(model, stats, compareFp32 ? prep.base() : null, ids, warmup, runs, (done, total) -> {
                ctx.progress(0.3 + 0.65 * done / total, (done <= warmup ? "warm-up run " + done : "run " + (done - warmup) + " of " + runs));
                ctx.checkpoint();
            });
            return new BenchReport(prep.name(), prep.format(), dev.describe(), sentences.size(), runs, warmup, s);
        });
    }

    private static BenchResult toProto(BenchReport r, Artifact json, Artifact chart, boolean fellBack) {
        EncoderBench.Samples s = r.samples();
        DeviceKind kind = switch (r.device().kind()) {
            case EMULATOR -> DeviceKind.DEVICE_KIND_EMULATOR;
            case XRT -> DeviceKind.DEVICE_KIND_BOARD;
        };
        BenchResult.Builder b = BenchResult.newBuilder().setModel(r.model()).setFormat(r.format())
                .setDevice(Device.newBuilder().setId(r.device().kind().name().toLowerCase()).setKind(kind).setDescription(r.device().name()).setParallelism(1))
                .setSentences(r.sentences()).setRuns(r.runs()).setWarmup(r.warmup()).setModelSeconds(percentiles(s.modelNanos()))
                .setPerForward(cost(s.perForward())).setJson(json).setChart(chart).setFellBack(fellBack);
        if (s.fp32Nanos() != null) b.setFp32Seconds(percentiles(s.fp32Nanos()));
        for (Map.Entry<String, long[]> e : s.layerNanos().entrySet()) {
            b.addLayers(BenchLayer.newBuilder().setName(e.getKey()).setHost(percentiles(e.getValue())).setDevice(cost(s.layerForward().get(e.getKey()))));
        }
        return b.build();
    }

    private static Percentiles percentiles(long[] nanos) {
        return Percentiles.newBuilder().setP50(EncoderBench.percentile(nanos, 50) / 1e9).setP95(EncoderBench.percentile(nanos, 95) / 1e9)
                .setP99(EncoderBench.percentile(nanos, 99) / 1e9).build();
    }

    private static DeviceCost cost(RunStats.Totals t) {
        return DeviceCost.newBuilder().setDeviceSeconds(t.deviceSeconds()).setDeviceCycles(t.deviceCycles()).setBytesMoved(t.bytesMoved())
                .setEnergyJoules(t.energyJoules()).setComputeBoundRuns(t.computeBoundRuns()).setMemoryBoundRuns(t.memoryBoundRuns()).build();
    }

    /**
     * As {@code qbridge eval}: one FP32 reference, then each recipe quantized and measured. The reference
     * embedding has no checkpoints inside; it runs under {@link DeviceWatch#supervise(JobContext, java.util.concurrent.Callable)}
     * like device work, so a cancel still ends the job within about a second.
     */
    private EvalResult eval(EvalSpec spec, JobContext ctx) throws Exception {
        EncoderModel.Builtin b = EncoderModel.Builtin.byAlias(spec.getModel().getBuiltin());
        List<QuantRecipe> recipes = spec.getFormatsList().stream().map(QuantRecipe::parse).toList();
        EncoderEvaluator.Sets sets = new EncoderEvaluator.Sets(EvalCorpus.Split.CALIBRATION.count,
                spec.getHeldOut() == 0 ? EvalCorpus.Split.HELD_OUT.count : spec.getHeldOut(),
                spec.hasRetrieval() ? spec.getRetrieval() : EvalCorpus.Split.RETRIEVAL.count, EncoderEvaluator.Sets.DEFAULT.layerProbe());
        EncoderModel fp32 = builtin(b);
        int layers = fp32.encoder().linears().size();
        ctx.log("embedding the FP32 reference (" + sets.heldOut() + " held-out + " + sets.retrieval() + " retrieval sentences)");
        List<EncoderEvaluator.Row> rows = DeviceWatch.supervise(ctx, () -> {
            EncoderEvaluator ev = new EncoderEvaluator(fp32, sets);
            List<EncoderEvaluator.Row> out = new java.util.ArrayList<>();
            for (int i = 0; i < recipes.size(); i++) {
                ctx.checkpoint();
                int done = i;
                QuantRecipe r = recipes.get(i);
                out.add(ev.evaluate(r, (name, n) -> {
                    ctx.progress((done + n / (double) layers) / recipes.size() * 0.99, r.name() + " " + name);
                    ctx.checkpoint();
                }));
                ctx.log(r.name() + " done");
            }
            return out;
        });
        Artifact json = ctx.artifacts().write(b.alias + "-eval.json", EvalReport.json(b.alias, sets, rows));
        ctx.progress(1, "saved");
        EvalResult.Builder out = EvalResult.newBuilder().setModel(b.alias).setHeldOut(sets.heldOut()).setRetrieval(sets.retrieval()).setJson(json);
        for (EncoderEvaluator.Row r : rows) {
            out.addRows(EvalRow.newBuilder().setFormat(r.recipe()).setBitsPerWeight(r.bitsPerWeight()).setPackedBytes(r.packedBytes())
                    .setWeightSqnrDb(r.weightSqnrDb()).setLayerOutputError(r.layerOutputError()).setMeanCosine(r.meanCosine())
                    .setRecallAt10(r.recallAt10()).setQuantizeSeconds(r.quantizeSeconds()));
        }
        return out.build();
    }

    static final int DEFAULT_EVAL_WINDOW = 256;
    static final float DEFAULT_TOPP = 0.9f;

    /**
     * As {@code qbridge eval --model x.qbz --text F}: the one {@link DecoderEvaluator#evaluateContainer} on the text
     * the client sent (host path). It has no checkpoints inside, so it runs under {@link DeviceWatch#supervise(JobContext,
     * java.util.concurrent.Callable)}, as the encoder eval does, for a cancel to end it.
     */
    private DecoderEvalResult decoderEval(DecoderEvalSpec spec, JobContext ctx) throws Exception {
        long t0 = System.nanoTime();
        String sha = spec.getModel().getUploadSha256();
        QuantizedDecoders.Loaded q = UploadedModels.loadDecoder(spec.getModel(), ctx);
        int window = spec.getWindow() == 0 ? DEFAULT_EVAL_WINDOW : spec.getWindow();
        ctx.log("loaded uploaded decoder " + sha + ": " + q.manifest().model() + " in " + q.manifest().format() + "; measuring perplexity on "
                + spec.getText().length() + " characters");
        ctx.checkpoint();
        DecoderEvaluator.ContainerRow row = DeviceWatch.supervise(ctx, () -> DecoderEvaluator.evaluateContainer(q, q.textTokenizer("upload " + sha), spec.getText(), window));
        ctx.progress(1, "measured");
        var c = q.model().config();
        return DecoderEvalResult.newBuilder().setModel(q.manifest().model()).setFormat(row.recipe()).setLayers(c.nLayers()).setDim(c.dim())
                .setTokens(row.tokens()).setWindow(row.window()).setPerplexity(row.perplexity()).setBitsPerWeight(row.bitsPerWeight())
                .setPackedBytes(row.packedBytes()).setClassifierPacked(q.classifier() != null).setSeconds((System.nanoTime() - t0) / 1e9).build();
    }

    /**
     * As {@code qbridge generate --model x.qbz}: the container's packed layers on the device the spec names
     * (opened as {@code --device} opens it, under {@link DeviceWatch}), the one {@link TextGeneration} loop;
     * progress per position, and a cancel checked between positions.
     */
    private GenerateResult generate(GenerateSpec spec, JobContext ctx) throws Exception {
        String sha = spec.getModel().getUploadSha256();
        QuantizedDecoders.Loaded q = UploadedModels.loadDecoder(spec.getModel(), ctx);
        var tok = q.textTokenizer("upload " + sha);
        int seqLen = q.model().config().seqLen();
        int steps = spec.getSteps() == 0 || spec.getSteps() > seqLen ? seqLen : spec.getSteps(); // as Generator caps it
        long seed = spec.hasSeed() ? spec.getSeed() : System.nanoTime(); // as the local command without --seed
        EmulatorConfig emulator = EmulatorConfig.defaults().withActivations(activations(spec.getActivations()));
        try {
            emulator = AcceleratorModels.forContainer(emulator, q, null); // axbxp: the container's per-layer configurations
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("activations: axbxp: uploaded decoder " + sha + " " + e.getMessage(), e);
        }
        EmulatorConfig device = emulator;
        String choice = spec.getDevice().isEmpty() ? "auto" : spec.getDevice();
        try {
            return onAccelerator(choice, false, device, ctx, dev -> {
                LlamaWeights w = AcceleratorModels.containerOnDevice(q, dev, new RunStats());
                ctx.log("generating with " + q.manifest().model() + " (" + q.manifest().format() + ") on " + dev.describe().name() + " (" + device.activations().id() + " activations): up to " + steps + " positions, temperature "
                        + spec.getTemperature() + (spec.getTemperature() > 0 ? ", seed " + seed : ""));
                int[] done = {1};
                TextGeneration.Result r = TextGeneration.generate(w, tok, spec.getPrompt(), steps, spec.getTemperature(), spec.hasTopp() ? spec.getTopp() : DEFAULT_TOPP, seed, piece -> {
                    ctx.progress(Math.min(1.0, done[0]++ / (double) steps), "position " + done[0] + " of " + steps);
                    ctx.checkpoint();
                });
                ctx.log(String.format("achieved tok/s: %.2f (%d positions, first excluded as llama2.c counts)", r.tokensPerSecond(), r.positions()));
                GenerateResult.Builder b = GenerateResult.newBuilder().setModel(q.manifest().model()).setText(r.text()).setPositions(r.positions())
                        .setTokensPerSecond(r.tokensPerSecond()).setDevice(dev.describe().name());
                for (int t : r.tokens()) b.addTokens(t);
                return b.build();
            });
        } catch (DeviceWatch.DeviceFailure e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private EncoderModel builtin(EncoderModel.Builtin b) {
        return builtins.computeIfAbsent(b, EncoderModel::load);
    }
}
