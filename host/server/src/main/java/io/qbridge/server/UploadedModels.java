package io.qbridge.server;

import io.grpc.Status;
import io.qbridge.model.bert.BertEncoder;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.onnx.OnnxGraph;
import io.qbridge.pipeline.FileBase;
import io.qbridge.pipeline.PreparedEncoder;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedEncoders;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.tokenizer.BertTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.sql.SQLException;
import java.util.function.Function;

/**
 * Models named by {@code ModelRef.upload_sha256}: only files that passed {@link UploadStore}'s validation
 * and carry its mark in the {@link ArtifactStore}. A BERT {@code .onnx} runs, or is quantized, with the
 * tokenizer and pooling of the built-in its {@code tokenizer_of} names (an ONNX graph carries no tokenizer).
 * A {@code .qbz} loads onto its built-in base, or onto a file base ({@link #bases}): an uploaded {@code .onnx}
 * found by the sha256 the container pins, with the built-in tokenizer whose bytes have the pinned sha256.
 * A decoder {@code .qbz} carries its whole model and tokenizer; only generate and decoder eval jobs take it.
 *
 * <p>In a fleet the file a job names may be on another server: submit-time checks also ask the shared
 * database ({@link SharedArtifacts#modelKind}), and a job's server copies what it lacks, the named file and a
 * container's file base, into its own store before loading it ({@link Source}).
 */
final class UploadedModels {
    static final String QBZ = "qbz";
    static final String ONNX = "onnx";
    /** A decoder .qbz: it carries the whole model and its tokenizer (generate and eval jobs). */
    static final String DECODER = "decoder";

    private UploadedModels() {}

    /** Where a server gets a stored file (an upload, an artifact) that a job or an upload's check names. */
    @FunctionalInterface
    interface Source {
        /**
         * True when the file {@code sha256} is in the local store now (with its upload mark when it is a
         * validated upload), copied here first if it was elsewhere; false when it is nowhere this server can reach.
         *
         * @throws IOException if a copy exists but cannot be brought here whole (the message says DATA_LOSS when the copy is bad)
         */
        boolean fetch(String sha256) throws IOException;
    }

    /**
     * The local store alone ({@code shared} null: one server), or the local store and then the fleet's shared
     * database ({@link SharedArtifacts#materialise}): a missing or altered chunk is DATA_LOSS, named in the message.
     */
    static Source source(ArtifactStore artifacts, SharedArtifacts shared) {
        if (shared == null) return artifacts::contains;
        return sha -> {
            try {
                return shared.materialise(artifacts, sha);
            } catch (ArtifactStore.CorruptArtifactException e) {
                throw new IOException("DATA_LOSS: " + e.getMessage(), e);
            } catch (SQLException e) {
                throw new IOException("the fleet's shared database failed while copying stored file " + sha + " to this server: " + e.getMessage(), e);
            }
        };
    }

    /**
     * Submit-time checks: the upload exists and is validated (its kind as {@code kindOf} knows it: this
     * server's mark, in a fleet also the shared database's), and {@code tokenizer_of} fits its kind;
     * {@code where} says where it looked, for the error.
     */
    static void validate(String field, ModelRef m, Function<String, String> kindOf, String where) {
        if (!ArtifactStore.isSha256(m.getUploadSha256())) throw invalid(field + ".upload_sha256: must be 64 lowercase hex digits");
        String kind = kindOf.apply(m.getUploadSha256());
        if (kind == null) {
            // the request is well formed; the server lacks what it names (as for an artifact that is not here)
            throw Status.FAILED_PRECONDITION.withDescription(field + ": no uploaded model with sha256 '" + m.getUploadSha256()
                    + "' " + where + " (upload it first with UploadModel)").asRuntimeException();
        }
        if (kind.equals(DECODER)) {
            throw invalid(field + ": upload " + m.getUploadSha256() + " is a decoder .qbz; it runs in generate and eval jobs (GenerateSpec, DecoderEvalSpec), not this one");
        }
        if (kind.equals(ONNX)) {
            if (!m.hasTokenizerOf()) throw invalid(field + ".tokenizer_of: an uploaded .onnx needs the built-in whose tokenizer and pooling it uses (bge-small, minilm)");
            if (EncoderModel.Builtin.byAlias(m.getTokenizerOf()) == null) throw invalid(field + ".tokenizer_of: no built-in model '" + m.getTokenizerOf() + "' (bge-small, minilm)");
        } else if (m.hasTokenizerOf()) {
            throw invalid(field + ".tokenizer_of: a .qbz container runs with its base model's tokenizer; leave it unset");
        }
    }

    /** Submit-time checks of a generate or decoder eval job's model: an uploaded decoder .qbz (which carries its tokenizer). */
    static void validateDecoder(String field, ModelRef m, Function<String, String> kindOf, String where) {
        if (!m.hasUploadSha256()) throw invalid(field + ": name an uploaded decoder .qbz (upload_sha256)");
        if (!ArtifactStore.isSha256(m.getUploadSha256())) throw invalid(field + ".upload_sha256: must be 64 lowercase hex digits");
        if (m.hasTokenizerOf()) throw invalid(field + ".tokenizer_of: a decoder .qbz carries its own tokenizer; leave it unset");
        String kind = kindOf.apply(m.getUploadSha256());
        if (kind == null) {
            throw Status.FAILED_PRECONDITION.withDescription(field + ": no uploaded model with sha256 '" + m.getUploadSha256()
                    + "' " + where + " (upload it first with UploadModel)").asRuntimeException();
        }
        if (!kind.equals(DECODER)) throw invalid(field + ": upload " + m.getUploadSha256() + " is an encoder's " + (kind.equals(ONNX) ? ".onnx" : ".qbz") + ", not a decoder .qbz");
    }

    /** Whether a .qbz file is a decoder's (its manifest has a decoder base); the file is opened, not loaded. */
    static boolean isDecoderContainer(java.nio.file.Path file) throws IOException {
        return io.qbridge.container.QbzFile.readManifest(file).decoder() != null;
    }

    /** The decoder .qbz a validated generate or eval job names. */
    static io.qbridge.pipeline.QuantizedDecoders.Loaded loadDecoder(ModelRef ref, JobContext ctx) throws IOException {
        String sha = ref.getUploadSha256();
        if (!DECODER.equals(ctx.artifacts().validatedModelKind(sha))) throw new IOException("uploaded decoder " + sha + " is no longer on this server");
        return io.qbridge.pipeline.QuantizedDecoders.load(ctx.artifacts().path(sha));
    }

    /** Submit-time checks of a quantize job's uploaded base: an uploaded .onnx with its {@code tokenizer_of}. */
    static void validateQuantizeBase(String field, ModelRef m, Function<String, String> kindOf, String where) {
        validate(field, m, kindOf, where);
        if (isContainer(m, kindOf)) throw invalid(field + ": upload " + m.getUploadSha256() + " is a .qbz container, already quantized; quantize takes an uploaded BERT .onnx");
    }

    /**
     * The file base of a quantize job on an uploaded .onnx (validated ref): its bytes, and the tokenizer
     * bytes of the built-in its {@code tokenizer_of} names.
     */
    static FileBase fileBase(ModelRef ref, ArtifactStore artifacts) throws IOException {
        String sha = ref.getUploadSha256();
        if (!ONNX.equals(artifacts.validatedModelKind(sha))) throw new IOException("uploaded model " + sha + " is no longer on this server");
        EncoderModel.Builtin tok = EncoderModel.Builtin.byAlias(ref.getTokenizerOf());
        return FileBase.of(Files.readAllBytes(artifacts.path(sha)), "upload " + sha, FileBase.builtinTokenizerBytes(tok), tok.tokenizerResource);
    }

    /**
     * Where containers on this server find a file base: the uploaded .onnx whose sha256 the container pins
     * (only validated uploads), with the built-in tokenizer whose bytes it pins. Either missing is an error
     * saying which digest this server lacks.
     */
    static QuantizedEncoders.BaseLookup bases(ArtifactStore artifacts) {
        return bases(artifacts, artifacts::contains);
    }

    /** As {@link #bases(ArtifactStore)}, a base this server lacks first copied here from {@code source} (a fleet's database). */
    static QuantizedEncoders.BaseLookup bases(ArtifactStore artifacts, Source source) {
        return m -> {
            String sha = m.baseSha256();
            if (ArtifactStore.isSha256(sha) && !ONNX.equals(artifacts.validatedModelKind(sha))) source.fetch(sha);
            if (!ArtifactStore.isSha256(sha) || !ONNX.equals(artifacts.validatedModelKind(sha))) {
                throw new ModelFormatException("base " + sha, "the container's base (a BERT .onnx with this sha256) is not an uploaded model on this server; upload it first");
            }
            EncoderModel.Builtin tok = FileBase.builtinWithTokenizer(m.external().tokenizerSha256());
            if (tok == null) {
                throw new ModelFormatException("tokenizer " + m.external().tokenizerSha256(), "the container's tokenizer.json is not the tokenizer of a built-in model "
                        + "(bge-small, minilm); this server runs uploaded encoders only with built-in tokenizers");
            }
            return FileBase.of(Files.readAllBytes(artifacts.path(sha)), "upload " + sha, FileBase.builtinTokenizerBytes(tok), tok.tokenizerResource);
        };
    }

    /** Whether the ref names an uploaded .qbz (already quantized). */
    static boolean isContainer(ModelRef m, ArtifactStore artifacts) {
        return isContainer(m, artifacts::validatedModelKind);
    }

    static boolean isContainer(ModelRef m, Function<String, String> kindOf) {
        return m.hasUploadSha256() && QBZ.equals(kindOf.apply(m.getUploadSha256()));
    }

    /**
     * The model a run job computes with, for a validated ref (see {@link #validate}). {@code format}, for an
     * .onnx, is an RTN recipe applied first, as for a built-in; "" or "fp32" runs it as uploaded.
     */
    static EncoderModel load(ModelRef ref, String format, JobContext ctx) throws IOException {
        String sha = ref.getUploadSha256();
        String kind = ctx.artifacts().validatedModelKind(sha);
        if (kind == null) throw new IOException("uploaded model " + sha + " is no longer on this server");
        if (kind.equals(QBZ)) {
            PreparedEncoder q = PreparedEncoder.prepare(HostJobExecutor.container(sha, ctx), "", null);
            ctx.log("loaded uploaded container " + sha + ": " + q.format() + " on " + q.name());
            return q.hostModel();
        }
        EncoderModel.Builtin tok = EncoderModel.Builtin.byAlias(ref.getTokenizerOf());
        BertTokenizer tokenizer;
        try (InputStream in = EncoderModel.class.getResourceAsStream(tok.tokenizerResource)) {
            if (in == null) throw new IOException(tok.tokenizerResource + ": tokenizer resource missing from the classpath");
            tokenizer = BertTokenizer.fromJson(in, tok.tokenizerResource);
        }
        BertEncoder encoder;
        try (InputStream in = Files.newInputStream(ctx.artifacts().path(sha))) {
            encoder = BertEncoder.fromOnnx(OnnxGraph.read(in, "upload " + sha));
        }
        EncoderModel fp32 = new EncoderModel("upload-" + sha.substring(0, 12), tokenizer, encoder, tok.pooling);
        ctx.log("loaded uploaded BERT .onnx " + sha + " with the tokenizer and pooling of " + tok.alias);
        return hostModel(new PreparedEncoder.Source.Fp32(fp32.name(), fp32), format, ctx);
    }

    /** The host-path model of an FP32 encoder, quantized first when {@code format} names a recipe (as the local commands do). */
    static EncoderModel hostModel(PreparedEncoder.Source.Fp32 fp32, String format, JobContext ctx) throws IOException {
        if (!format.isEmpty() && !format.equalsIgnoreCase("fp32")) ctx.log("quantizing " + fp32.name() + " with " + QuantRecipe.parse(format).name() + " before running");
        return PreparedEncoder.hostModel(fp32, format, (name, n) -> ctx.checkpoint());
    }

    private static RuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
