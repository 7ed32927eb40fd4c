package io.qbridge.pipeline;

import io.qbridge.container.QbzManifest;
import io.qbridge.files.Sha256;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.bert.BertEncoder;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.Pooling;
import io.qbridge.model.onnx.OnnxGraph;
import io.qbridge.tokenizer.BertTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A base encoder that is not built in: a BERT {@code .onnx} and the {@code tokenizer.json} it runs with, each
 * pinned by the sha256 of its exact bytes. A {@code .qbz} quantized from it records both digests and the
 * pooling (see {@link QbzManifest.External}); loading that container needs this base again, and the digests
 * must match. The bytes are parsed only by {@link #model}, after a caller has compared the digests, so a wrong
 * base fails on its digest without being parsed.
 *
 * @param onnxSha256      sha256 of the ONNX file's bytes
 * @param tokenizerSha256 sha256 of the tokenizer.json bytes
 * @param source          where the ONNX came from, for messages (a path, or "upload SHA")
 */
public record FileBase(String onnxSha256, byte[] onnx, String tokenizerSha256, byte[] tokenizerJson, String source, String tokenizerSource) {
    /** Reads and hashes an ONNX file and the tokenizer.json to run it with. */
    public static FileBase read(Path onnx, Path tokenizerJson) throws IOException {
        if (!Files.isRegularFile(onnx)) throw new ModelFormatException(onnx.toString(), "no such file");
        byte[] onnxBytes = Files.readAllBytes(onnx);
        OnnxGraph.parse(onnxBytes, onnx.toString()); // not ONNX at all: say so before looking for a tokenizer.json
        if (!Files.isRegularFile(tokenizerJson)) throw new ModelFormatException(onnx.toString(), "no tokenizer.json beside the ONNX file (expected " + tokenizerJson + ")");
        return of(onnxBytes, onnx.toString(), Files.readAllBytes(tokenizerJson), tokenizerJson.toString());
    }

    /** The base whose ONNX bytes and tokenizer.json bytes are given (hashed here; parsed by {@link #model}). */
    public static FileBase of(byte[] onnx, String onnxSource, byte[] tokenizerJson, String tokenizerSource) {
        return new FileBase(Sha256.hex(onnx), onnx, Sha256.hex(tokenizerJson), tokenizerJson, onnxSource, tokenizerSource);
    }

    /** The container label of this base ({@link QbzManifest#externalLabel}), also the FP32 model's name. */
    public String label() {
        return QbzManifest.externalLabel(onnxSha256);
    }

    /** The FP32 model: this encoder and tokenizer (parsed now) with {@code pooling}. */
    public EncoderModel model(Pooling pooling) throws IOException {
        BertTokenizer tokenizer = BertTokenizer.fromJson(new ByteArrayInputStream(tokenizerJson), tokenizerSource);
        BertEncoder encoder = BertEncoder.fromOnnx(OnnxGraph.read(new ByteArrayInputStream(onnx), source));
        return new EncoderModel(label(), tokenizer, encoder, pooling);
    }

    /** The bytes of a built-in model's tokenizer.json (the tokenizer a server runs uploaded encoders with). */
    public static byte[] builtinTokenizerBytes(EncoderModel.Builtin b) throws IOException {
        try (InputStream in = EncoderModel.class.getResourceAsStream(b.tokenizerResource)) {
            if (in == null) throw new ModelFormatException(b.tokenizerResource, "tokenizer resource missing from the classpath");
            return in.readAllBytes();
        }
    }

    private static final Map<EncoderModel.Builtin, String> TOKENIZER_SHA = new ConcurrentHashMap<>();

    /** The built-in model whose tokenizer.json has these bytes' sha256, or null. */
    public static EncoderModel.Builtin builtinWithTokenizer(String sha256) throws IOException {
        for (EncoderModel.Builtin b : EncoderModel.Builtin.values()) {
            String s = TOKENIZER_SHA.get(b);
            if (s == null) {
                s = Sha256.hex(builtinTokenizerBytes(b));
                TOKENIZER_SHA.put(b, s);
            }
            if (s.equals(sha256)) return b;
        }
        return null;
    }
}
