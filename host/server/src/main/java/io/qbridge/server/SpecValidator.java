package io.qbridge.server;

import io.grpc.Status;
import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.protocol.v1.QuantizeSpec;
import io.qbridge.protocol.v1.RunSpec;
import java.io.IOException;
import java.sql.SQLException;
import java.util.List;

/**
 * Checks a submitted spec completely before it is queued, so a job that is accepted can only fail for
 * reasons of the run itself. Errors are INVALID_ARGUMENT (or UNIMPLEMENTED for kinds this server does
 * not run yet) with a message that names the field; a well-formed spec naming an upload or artifact this
 * server does not hold is FAILED_PRECONDITION (upload it, or submit where it is).
 *
 * <p>In a fleet a stored file (an upload, an artifact) counts when the shared database holds it
 * ({@link SharedArtifacts}): the server that claims the job copies it from there. A file only this server
 * holds (stored before uploads were shared) is copied into the database here, before the job is queued,
 * so whichever server claims the job finds it.
 */
final class SpecValidator {
    static final int MAX_SENTENCES = 4096;
    static final int MAX_SENTENCE_CHARS = 16 * 1024;

    private final ArtifactStore artifacts;
    private final List<ComputeDevice> devices;
    private final boolean fleet;
    private final SharedArtifacts shared; // null: no fleet database (one server, or a test of the checks alone)

    /** @param fleet true when other servers share the queue: a device kind this server lacks may be another's */
    SpecValidator(ArtifactStore artifacts, List<ComputeDevice> devices, boolean fleet) {
        this(artifacts, devices, fleet, null);
    }

    /** A fleet server's validator when {@code shared} is not null: files count where the database has them. */
    SpecValidator(ArtifactStore artifacts, List<ComputeDevice> devices, SharedArtifacts shared) {
        this(artifacts, devices, shared != null, shared);
    }

    private SpecValidator(ArtifactStore artifacts, List<ComputeDevice> devices, boolean fleet, SharedArtifacts shared) {
        this.artifacts = artifacts;
        this.devices = devices;
        this.fleet = fleet;
        this.shared = shared;
    }

    /** Where stored files were looked for, for FAILED_PRECONDITION messages. */
    private String where() {
        return shared == null ? "on this server" : "on this server or in the fleet's shared database";
    }

    /** The kind of the validated upload {@code sha256}: this server's mark, else (fleet) the database's; null if neither. */
    private String uploadKind(String sha256) {
        String kind = artifacts.validatedModelKind(sha256);
        if (kind != null || shared == null) return kind;
        try {
            return shared.modelKind(sha256);
        } catch (SQLException e) {
            throw databaseFailed(e);
        }
    }

    /** Whether the stored file {@code sha256} is here or (fleet) in the database. */
    private boolean stored(String sha256) {
        if (artifacts.contains(sha256)) return true;
        if (shared == null) return false;
        try {
            return shared.contains(sha256);
        } catch (SQLException e) {
            throw databaseFailed(e);
        }
    }

    /**
     * Fleet: a file this server holds but the database lacks (or lacks as an upload) is copied there now,
     * checked against its name, so the server that claims the job can fetch it.
     */
    private void share(String sha256) {
        if (shared == null || !artifacts.contains(sha256)) return;
        try {
            shared.put(sha256, artifacts.path(sha256), artifacts.validatedModelKind(sha256));
        } catch (SQLException e) {
            throw databaseFailed(e);
        } catch (ArtifactStore.CorruptArtifactException e) {
            throw Status.DATA_LOSS.withDescription("stored file " + sha256 + " on this server is corrupt: " + e.getMessage()).asRuntimeException();
        } catch (IOException e) {
            ServerLog.info("copying stored file %s into the shared database failed: %s", sha256, e);
            throw Status.INTERNAL.withDescription("the server could not copy stored file " + sha256 + " into the fleet's shared database (its log says why)").asRuntimeException();
        }
    }

    private static RuntimeException databaseFailed(SQLException e) {
        ServerLog.info("the shared database failed while checking a spec: %s", e);
        return Status.UNAVAILABLE.withDescription("the fleet's shared database failed; retry").asRuntimeException();
    }

    /** The job's kind, or a status exception saying what is wrong. */
    JobKind validate(JobSpec spec) {
        return switch (spec.getKindCase()) {
            case QUANTIZE -> {
                quantize(spec.getQuantize());
                yield JobKind.JOB_KIND_QUANTIZE;
            }
            case RUN -> {
                run(spec.getRun());
                yield JobKind.JOB_KIND_RUN;
            }
            case BENCH -> {
                bench(spec.getBench());
                yield JobKind.JOB_KIND_BENCH;
            }
            case EVAL -> {
                eval(spec.getEval());
                yield JobKind.JOB_KIND_EVAL;
            }
            case DECODER_EVAL -> {
                decoderEval(spec.getDecoderEval());
                yield JobKind.JOB_KIND_EVAL;
            }
            case GENERATE -> {
                generate(spec.getGenerate());
                yield JobKind.JOB_KIND_GENERATE;
            }
            case KIND_NOT_SET -> throw invalid("spec: no job kind set (quantize, run, bench, eval, decoder_eval or generate)");
        };
    }

    private void quantize(QuantizeSpec q) {
        ModelRef m = q.getModel();
        switch (m.getSourceCase()) {
            case BUILTIN -> {
                if (EncoderModel.Builtin.byAlias(m.getBuiltin()) == null) throw invalid("quantize.model: no built-in model '" + m.getBuiltin() + "' (bge-small, minilm)");
                if (m.hasTokenizerOf()) throw invalid("quantize.model.tokenizer_of: only for an uploaded .onnx model");
            }
            case UPLOAD_SHA256 -> {
                UploadedModels.validateQuantizeBase("quantize.model", m, this::uploadKind, where());
                share(m.getUploadSha256());
            }
            case ARTIFACT_SHA256 -> throw invalid("quantize.model: an artifact is already quantized; quantize takes a built-in encoder (bge-small, minilm) or an uploaded BERT .onnx");
            case SOURCE_NOT_SET -> throw invalid("quantize.model: no model given (a built-in encoder or an uploaded BERT .onnx)");
        }
        QuantRecipe recipe = packedRecipe("quantize.format", q.getFormat());
        if (recipe.format() == null) throw invalid("quantize.format: fp32 is not a quantized format");
        if (q.getCalibration() > EvalCorpus.Split.CALIBRATION.count) {
            throw invalid("quantize.calibration: must be between 1 and " + EvalCorpus.Split.CALIBRATION.count + " (0 = the default)");
        }
    }

    private void run(RunSpec r) {
        model("run.model", r.getModel());
        if (!r.getFormat().isEmpty() && !r.getFormat().equalsIgnoreCase("fp32")) {
            if (r.getModel().hasArtifactSha256() || UploadedModels.isContainer(r.getModel(), this::uploadKind)) {
                throw invalid("run.format: a .qbz artifact is already quantized; leave the format empty");
            }
            // a GPTQ recipe is calibrated on the server exactly as the local command calibrates (PreparedEncoder)
            packedRecipe("run.format", r.getFormat());
        }
        device("run.device", r.getDevice());
        String rd = r.getDevice().trim().toLowerCase(java.util.Locale.ROOT);
        if (!rd.isEmpty() && !rd.equals("host") && r.getFormat().equalsIgnoreCase("fp32")) {
            throw invalid("run.format: fp32 runs on the host; an accelerator (" + r.getDevice() + ") needs a quantized format");
        }
        activations("run.activations", r.getActivations());
        if (!r.getActivations().isEmpty() && !ACCELERATOR_CHOICES.contains(rd)) {
            throw invalid("run.activations: only with device emulator, xrt or auto (the host path computes in fp32)");
        }
        if (r.getSentencesCount() == 0) throw invalid("run.sentences: at least one sentence is needed");
        if (r.getSentencesCount() > MAX_SENTENCES) throw invalid("run.sentences: at most " + MAX_SENTENCES + " sentences per job");
        for (int i = 0; i < r.getSentencesCount(); i++) {
            if (r.getSentences(i).length() > MAX_SENTENCE_CHARS) {
                throw invalid("run.sentences[" + i + "]: longer than " + MAX_SENTENCE_CHARS + " characters");
            }
        }
    }

    /** "" (the default) or an activation mode's name. */
    private void activations(String field, String name) {
        if (name.isEmpty()) return;
        try {
            io.qbridge.device.ActivationMode.parse(name);
        } catch (IllegalArgumentException e) {
            throw invalid(field + ": " + e.getMessage());
        }
    }

    /** A device id or kind this server has; in a fleet, any device kind or id (another server may have it). */
    private void device(String field, String device) {
        String d = device.trim().toLowerCase(java.util.Locale.ROOT);
        if (d.isEmpty() || devices.stream().anyMatch(x -> x.satisfies(d))) return;
        if (fleet && d.length() <= 200 && d.matches("[a-z0-9][a-z0-9._:-]*")) return;
        throw invalid(field + ": no device '" + device + "' (this server has: "
                + devices.stream().map(x -> x.id() + " (" + ComputeDevice.kindName(x.kind()) + ")").collect(java.util.stream.Collectors.joining(", ")) + ")");
    }

    static final int MAX_BENCH_RUNS = 1000;
    static final int MAX_BENCH_WARMUP = 100;
    static final int MAX_EVAL_FORMATS = 16;
    static final java.util.Set<String> BENCH_DEVICES = java.util.Set.of("", "auto", "emulator", "xrt");
    /** The device layer's choices (Devices.open): a run job naming one computes on an accelerator, not the host path. */
    static final java.util.Set<String> ACCELERATOR_CHOICES = java.util.Set.of("auto", "emulator", "xrt");
    static final java.util.Set<String> BENCH_PRESETS = java.util.Set.of("u55c", "u250");

    private void bench(io.qbridge.protocol.v1.BenchSpec b) {
        model("bench.model", b.getModel());
        if (!b.getFormat().isEmpty()) {
            QuantRecipe recipe = packedRecipe("bench.format", b.getFormat());
            if (recipe.format() == null) throw invalid("bench.format: fp32 runs on the host, not a device; pick a quantized format");
        }
        if (!BENCH_DEVICES.contains(b.getDevice())) throw invalid("bench.device: '" + b.getDevice() + "' is not emulator, xrt or auto");
        device("bench.device", b.getDevice());
        activations("bench.activations", b.getActivations());
        int benchSplit = EvalCorpus.Split.BENCH.count;
        if (b.getSentences() > benchSplit) throw invalid("bench.sentences: at most " + benchSplit + " (the benchmark split; 0 = all)");
        if (b.getRepeats() > MAX_BENCH_RUNS) throw invalid("bench.repeats: at most " + MAX_BENCH_RUNS + " measured runs (0 = 10)");
        if (b.hasWarmup() && b.getWarmup() > MAX_BENCH_WARMUP) throw invalid("bench.warmup: at most " + MAX_BENCH_WARMUP + " warm-up runs");
        if (b.hasPreset() && !BENCH_PRESETS.contains(b.getPreset())) throw invalid("bench.preset: '" + b.getPreset() + "' is not u55c or u250");
    }

    private void eval(io.qbridge.protocol.v1.EvalSpec e) {
        if (!e.getModel().hasBuiltin() || EncoderModel.Builtin.byAlias(e.getModel().getBuiltin()) == null) {
            throw invalid("eval.model: eval takes a built-in encoder (bge-small, minilm)");
        }
        if (e.getFormatsCount() == 0) throw invalid("eval.formats: name at least one format (e.g. fp32, mxint8)");
        if (e.getFormatsCount() > MAX_EVAL_FORMATS) throw invalid("eval.formats: at most " + MAX_EVAL_FORMATS + " formats per job");
        for (int i = 0; i < e.getFormatsCount(); i++) recipe("eval.formats[" + i + "]", e.getFormats(i));
        int max = EvalCorpus.Split.HELD_OUT.count;
        if (e.getHeldOut() != 0 && (e.getHeldOut() < 10 || e.getHeldOut() > max)) throw invalid("eval.held_out: must be in 10.." + max + " (0 = " + max + ")");
        int maxR = EvalCorpus.Split.RETRIEVAL.count;
        if (e.hasRetrieval() && (e.getRetrieval() < 10 || e.getRetrieval() > maxR)) throw invalid("eval.retrieval: must be in 10.." + maxR);
    }

    static final int MAX_EVAL_TEXT_CHARS = 4_000_000;
    static final int MAX_EVAL_WINDOW = 65_536;
    static final int MAX_GENERATE_STEPS = 65_536;
    static final int MAX_PROMPT_CHARS = 16 * 1024;
    static final float MAX_TEMPERATURE = 100;

    /** A decoder .qbz's perplexity on a text, as {@code qbridge eval --model x.qbz --text F}. */
    private void decoderEval(io.qbridge.protocol.v1.DecoderEvalSpec e) {
        decoderModel("decoder_eval.model", e.getModel());
        if (e.getText().isBlank()) throw invalid("decoder_eval.text: no text to measure perplexity on");
        if (e.getText().length() > MAX_EVAL_TEXT_CHARS) throw invalid("decoder_eval.text: longer than " + MAX_EVAL_TEXT_CHARS + " characters");
        if (e.getWindow() == 1 || Integer.compareUnsigned(e.getWindow(), MAX_EVAL_WINDOW) > 0) throw invalid("decoder_eval.window: must be in 2.." + MAX_EVAL_WINDOW + " (0 = 256)");
    }

    /** Text from a decoder .qbz, as {@code qbridge generate --model x.qbz}. */
    private void generate(io.qbridge.protocol.v1.GenerateSpec g) {
        decoderModel("generate.model", g.getModel());
        if (g.getPrompt().length() > MAX_PROMPT_CHARS) throw invalid("generate.prompt: longer than " + MAX_PROMPT_CHARS + " characters");
        if (Integer.compareUnsigned(g.getSteps(), MAX_GENERATE_STEPS) > 0) throw invalid("generate.steps: at most " + MAX_GENERATE_STEPS + " (0 = the model's sequence length)");
        if (!(g.getTemperature() >= 0 && g.getTemperature() <= MAX_TEMPERATURE)) throw invalid("generate.temperature: must be in [0, " + (int) MAX_TEMPERATURE + "] (0 = greedy)");
        if (g.hasTopp() && !(g.getTopp() >= 0 && g.getTopp() <= 1)) throw invalid("generate.topp: must be in [0, 1]");
        if (!BENCH_DEVICES.contains(g.getDevice())) throw invalid("generate.device: '" + g.getDevice() + "' is not emulator, xrt or auto");
        device("generate.device", g.getDevice());
        activations("generate.activations", g.getActivations());
    }

    /** An uploaded decoder .qbz, here or (fleet) in the shared database. */
    private void decoderModel(String field, ModelRef m) {
        UploadedModels.validateDecoder(field, m, this::uploadKind, where());
        share(m.getUploadSha256());
    }

    private void model(String field, ModelRef m) {
        switch (m.getSourceCase()) {
            case BUILTIN -> {
                if (EncoderModel.Builtin.byAlias(m.getBuiltin()) == null) {
                    throw invalid(field + ": no built-in model '" + m.getBuiltin() + "' (bge-small, minilm)");
                }
            }
            case ARTIFACT_SHA256 -> {
                if (!ArtifactStore.isSha256(m.getArtifactSha256())) throw invalid(field + ": artifact_sha256 must be 64 lowercase hex digits");
                if (!stored(m.getArtifactSha256())) {
                    throw Status.FAILED_PRECONDITION.withDescription(field + ": no artifact with sha256 '" + m.getArtifactSha256() + "' " + where()).asRuntimeException();
                }
                share(m.getArtifactSha256());
            }
            case UPLOAD_SHA256 -> {
                UploadedModels.validate(field, m, this::uploadKind, where());
                share(m.getUploadSha256());
            }
            case SOURCE_NOT_SET -> throw invalid(field + ": no model given");
        }
        if (m.hasTokenizerOf() && !m.hasUploadSha256()) throw invalid(field + ".tokenizer_of: only for an uploaded .onnx model");
    }

    /** A recipe whose packed layers a job needs (quantize, run, bench): a simulated one has none. */
    private static QuantRecipe packedRecipe(String field, String format) {
        QuantRecipe recipe = recipe(field, format);
        if (recipe.isSimulated()) throw invalid(field + ": " + io.qbridge.format.MicroScopiQOfficial.refusal(recipe.name()));
        return recipe;
    }

    private static QuantRecipe recipe(String field, String format) {
        if (format.isBlank()) throw invalid(field + ": no format given");
        try {
            return QuantRecipe.parse(format);
        } catch (IllegalArgumentException e) {
            throw invalid(field + ": " + e.getMessage());
        }
    }

    private static RuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
