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
import java.util.List;

/**
 * Checks a submitted spec completely before it is queued, so a job that is accepted can only fail for
 * reasons of the run itself. Errors are INVALID_ARGUMENT (or UNIMPLEMENTED for kinds this server does
 * not run yet) with a message that names the field.
 */
final class SpecValidator {
    static final int MAX_SENTENCES = 4096;
    static final int MAX_SENTENCE_CHARS = 16 * 1024;

    private final ArtifactStore artifacts;
    private final List<ComputeDevice> devices;
    private final boolean fleet;

    /** @param fleet true when other servers share the queue: a device kind this server lacks may be another's */
    SpecValidator(ArtifactStore artifacts, List<ComputeDevice> devices, boolean fleet) {
        this.artifacts = artifacts;
        this.devices = devices;
        this.fleet = fleet;
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
            case BENCH, EVAL -> throw Status.UNIMPLEMENTED.withDescription(spec.getKindCase().name().toLowerCase() + " jobs are not implemented by this server yet")
                    .asRuntimeException();
            case KIND_NOT_SET -> throw invalid("spec: no job kind set (quantize, run, bench or eval)");
        };
    }

    private void quantize(QuantizeSpec q) {
        if (!q.getModel().hasBuiltin() || EncoderModel.Builtin.byAlias(q.getModel().getBuiltin()) == null) {
            throw invalid("quantize.model: quantize takes a built-in encoder (bge-small, minilm)"
                    + (q.getModel().hasUploadSha256() ? "; an uploaded model can be run, not quantized, on this server" : ""));
        }
        if (q.getModel().hasTokenizerOf()) throw invalid("quantize.model.tokenizer_of: only for an uploaded .onnx model");
        QuantRecipe recipe = recipe("quantize.format", q.getFormat());
        if (recipe.format() == null) throw invalid("quantize.format: fp32 is not a quantized format");
        if (q.getCalibration() > EvalCorpus.Split.CALIBRATION.count) {
            throw invalid("quantize.calibration: must be between 1 and " + EvalCorpus.Split.CALIBRATION.count + " (0 = the default)");
        }
    }

    private void run(RunSpec r) {
        model("run.model", r.getModel());
        if (!r.getFormat().isEmpty() && !r.getFormat().equalsIgnoreCase("fp32")) {
            if (r.getModel().hasArtifactSha256() || UploadedModels.isContainer(r.getModel(), artifacts)) {
                throw invalid("run.format: a .qbz artifact is already quantized; leave the format empty");
            }
            QuantRecipe recipe = recipe("run.format", r.getFormat());
            if (recipe.needsCalibration()) {
                throw invalid("run.format: '" + r.getFormat() + "' needs calibration; submit a quantize job and run its artifact instead");
            }
        }
        device("run.device", r.getDevice());
        if (r.getSentencesCount() == 0) throw invalid("run.sentences: at least one sentence is needed");
        if (r.getSentencesCount() > MAX_SENTENCES) throw invalid("run.sentences: at most " + MAX_SENTENCES + " sentences per job");
        for (int i = 0; i < r.getSentencesCount(); i++) {
            if (r.getSentences(i).length() > MAX_SENTENCE_CHARS) {
                throw invalid("run.sentences[" + i + "]: longer than " + MAX_SENTENCE_CHARS + " characters");
            }
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

    private void model(String field, ModelRef m) {
        switch (m.getSourceCase()) {
            case BUILTIN -> {
                if (EncoderModel.Builtin.byAlias(m.getBuiltin()) == null) {
                    throw invalid(field + ": no built-in model '" + m.getBuiltin() + "' (bge-small, minilm)");
                }
            }
            case ARTIFACT_SHA256 -> {
                if (!artifacts.contains(m.getArtifactSha256())) throw invalid(field + ": no artifact with sha256 '" + m.getArtifactSha256() + "' on this server");
            }
            case UPLOAD_SHA256 -> UploadedModels.validate(field, m, artifacts);
            case SOURCE_NOT_SET -> throw invalid(field + ": no model given");
        }
        if (m.hasTokenizerOf() && !m.hasUploadSha256()) throw invalid(field + ".tokenizer_of: only for an uploaded .onnx model");
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
