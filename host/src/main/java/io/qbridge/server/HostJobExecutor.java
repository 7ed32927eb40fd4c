package io.qbridge.server;

import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QualityReport;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedEncoders;
import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.Embedding;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.protocol.v1.QuantizeResult;
import io.qbridge.protocol.v1.QuantizeSpec;
import io.qbridge.protocol.v1.RunResult;
import io.qbridge.protocol.v1.RunSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Quantize and run jobs, computed exactly as {@code qbridge quantize} and {@code qbridge embed} compute
 * them locally (same library calls, same order), so remote results are bit-identical to local ones.
 * Specs arrive validated ({@link SpecValidator}).
 */
public final class HostJobExecutor implements JobExecutor {
    private final ComputeDevice device;
    /** Built-in FP32 models are immutable once loaded; loading one costs a second, so each loads once. */
    private final Map<EncoderModel.Builtin, EncoderModel> builtins = new ConcurrentHashMap<>();

    public HostJobExecutor(ComputeDevice device) {
        this.device = device;
    }

    public ComputeDevice device() {
        return device;
    }

    @Override
    public JobResult execute(StoredJob job, JobContext ctx) throws Exception {
        return switch (job.spec().getKindCase()) {
            case QUANTIZE -> JobResult.newBuilder().setQuantize(quantize(job.spec().getQuantize(), ctx)).build();
            case RUN -> JobResult.newBuilder().setRun(run(job.spec().getRun(), ctx)).build();
            default -> throw new UnsupportedOperationException(job.kind() + " jobs are not implemented by this server yet");
        };
    }

    private QuantizeResult quantize(QuantizeSpec spec, JobContext ctx) throws Exception {
        EncoderModel.Builtin base = EncoderModel.Builtin.byAlias(spec.getModel().getBuiltin());
        QuantRecipe recipe = QuantRecipe.parse(spec.getFormat());
        int calibration = spec.getCalibration() == 0 ? EvalCorpus.Split.CALIBRATION.count : spec.getCalibration();
        EncoderModel fp32 = builtin(base);
        // as qbridge quantize does: RTN recipes ignore the calibration ids
        List<int[]> calib = EncoderQuantizer.calibrationIds(fp32, calibration);
        int layers = fp32.encoder().linears().size();
        ctx.log("quantizing " + base.alias + " with " + recipe.name() + " (" + recipe.algorithm().name().toLowerCase() + ", " + layers + " layers)");
        ctx.checkpoint();
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, recipe, calib, (name, done) -> {
            ctx.progress(done / (double) (layers + 1), name);
            ctx.checkpoint();
        });
        Path tmp = ctx.artifacts().newTempFile(".qbz");
        try {
            QuantizedEncoders.save(tmp, base, r);
            Artifact a = ctx.artifacts().adopt(tmp, base.alias + "-" + recipe.name().replace('@', '-') + ".qbz");
            ctx.progress(1, "saved");
            ctx.log("wrote " + a.getName() + ": " + a.getSize() + " bytes, sha256 " + a.getSha256());
            return QuantizeResult.newBuilder().setContainer(a).setLayers(r.layers().size()).setBitsPerWeight(QualityReport.bitsPerWeight(r.layers())).build();
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private RunResult run(RunSpec spec, JobContext ctx) throws Exception {
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
        RunResult.Builder b = RunResult.newBuilder().setModel(model.name()).setDim(emb.length == 0 ? 0 : emb[0].length);
        for (float[] e : emb) {
            Embedding.Builder eb = Embedding.newBuilder();
            for (float v : e) eb.addValues(v);
            b.addEmbeddings(eb);
        }
        return b.build();
    }

    /** The model a run names: a built-in (optionally quantized on the fly with an RTN recipe) or a stored .qbz. */
    private EncoderModel model(ModelRef ref, String format, JobContext ctx) throws Exception {
        if (ref.hasArtifactSha256()) {
            // the path comes from the store's own naming of a validated digest, never from the client
            QuantizedEncoders.Loaded q = QuantizedEncoders.load(ctx.artifacts().path(ref.getArtifactSha256()));
            ctx.log("loaded container " + ref.getArtifactSha256() + ": " + q.manifest().format() + " on " + q.manifest().model());
            return q.model();
        }
        EncoderModel fp32 = builtin(EncoderModel.Builtin.byAlias(ref.getBuiltin()));
        if (format.isEmpty() || format.equalsIgnoreCase("fp32")) return fp32;
        QuantRecipe recipe = QuantRecipe.parse(format);
        ctx.log("quantizing " + fp32.name() + " with " + recipe.name() + " before running");
        return EncoderQuantizer.quantize(fp32, recipe, List.of(), (name, n) -> ctx.checkpoint()).model();
    }

    private EncoderModel builtin(EncoderModel.Builtin b) {
        return builtins.computeIfAbsent(b, EncoderModel::load);
    }
}
