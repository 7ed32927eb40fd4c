package io.qbridge.pipeline;

import io.qbridge.container.QbzEntry;
import io.qbridge.container.QbzFile;
import io.qbridge.container.QbzManifest;
import io.qbridge.files.ResourceCache;
import io.qbridge.format.PackedTensor;
import io.qbridge.model.Linear;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.Pooling;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Quantized encoders in {@code .qbz} containers. A container holds each linear layer's packed weights
 * ({@code <layer>.weight}) and FP32 bias ({@code <layer>.bias}); embeddings and norms stay in the base
 * model, which the manifest names and pins by the sha256 of its ONNX file: a built-in alias, or a {@link FileBase}
 * (an ONNX file and tokenizer the container does not carry; loading then needs a {@link BaseLookup} that finds
 * it by its sha256s). A layer quantized
 * with act-order keeps its packed columns in quantization order and its permutation in the manifest; loading
 * un-permutes the dequantized weights for the host path, and the device path gathers its input instead.
 */
public final class QuantizedEncoders {
    private QuantizedEncoders() {}

    /** Writes a container quantized from a built-in base (its bytes are those of every release since the container began). */
    public static void save(Path out, EncoderModel.Builtin base, EncoderQuantizer.Result r) throws IOException {
        QbzFile.write(out, base.alias, baseSha256(base), r.recipe().format().id(), r.settings(), entries(r));
    }

    /**
     * Writes a container quantized from a file base: {@code model} is the base's label, {@code base_sha256} its
     * ONNX bytes' digest, and the manifest also pins its tokenizer and names its pooling.
     */
    public static void save(Path out, FileBase base, Pooling pooling, EncoderQuantizer.Result r) throws IOException {
        QbzFile.write(out, base.label(), base.onnxSha256(), new QbzManifest.External(base.tokenizerSha256(), pooling.name().toLowerCase(Locale.ROOT)),
                r.recipe().format().id(), r.settings(), entries(r));
    }

    private static List<QbzEntry> entries(EncoderQuantizer.Result r) {
        List<QbzEntry> entries = new ArrayList<>();
        for (QuantizedLayer q : r.layers()) {
            entries.add(new QbzEntry.Packed(q.name(), q.packed(), q.inputPerm()));
            if (q.bias() != null) entries.add(new QbzEntry.Floats(biasName(q.name()), q.bias(), new long[] {q.bias().length}));
        }
        return entries;
    }

    /** Finds the file base a container's manifest pins (by {@code base_sha256} and {@code base_tokenizer_sha256}). */
    @FunctionalInterface
    public interface BaseLookup {
        /**
         * The base to load the container onto, or null when there is none to offer; it may also throw an
         * exception saying why the base cannot be found. {@link #load(Path, BaseLookup)} checks the digests.
         */
        FileBase find(QbzManifest manifest) throws IOException;

        /** For callers that take only containers of built-in bases. */
        BaseLookup NONE = m -> null;
    }

    /** Loads a container of a built-in base; one of a file base is refused, saying which base it needs. */
    public static Loaded load(Path file) throws IOException {
        return load(file, BaseLookup.NONE);
    }

    /**
     * Loads a container onto its base model: each listed layer computes with its exact dequantized weights. A
     * built-in base is loaded by alias; a file base comes from {@code bases}, and its ONNX and tokenizer digests
     * must be the ones the manifest pins (a mismatch is an error naming both digests).
     */
    public static Loaded load(Path file, BaseLookup bases) throws IOException {
        QbzFile f = QbzFile.open(file);
        QbzManifest m = f.manifest();
        if (m.decoder() != null) {
            throw new ModelFormatException(file.toString(), "is a " + m.decoder().family() + " decoder container, not an encoder's (run it with qbridge generate or eval)");
        }
        EncoderModel fp32 = m.hasExternalBase() ? fileBase(file, m, bases) : builtinBase(file, m);
        Map<String, QuantizedLayer> layers = new LinkedHashMap<>();
        for (Linear lin : fp32.encoder().linears()) {
            if (!f.has(lin.name())) continue;
            PackedTensor p = f.packed(lin.name());
            if (p.n() != lin.outFeatures() || p.k() != lin.inFeatures()) {
                throw new ModelFormatException(file.toString(), "tensor '" + lin.name() + "' is " + p.n() + "x" + p.k() + " but the model's layer is "
                        + lin.outFeatures() + "x" + lin.inFeatures());
            }
            float[] bias = f.has(biasName(lin.name())) ? f.floats(biasName(lin.name())) : null;
            if (bias != null && bias.length != lin.outFeatures()) throw new ModelFormatException(file.toString(), "bias of '" + lin.name() + "' has the wrong length");
            // act-order: the packed columns are in quantization order; the host path gets the weights back in input order,
            // dequantized when it first asks for them (a device run needs only the packed image).
            layers.put(lin.name(), QuantizedLayer.stored(lin.name(), p, bias, f.inputPerm(lin.name())));
        }
        if (layers.isEmpty()) throw new ModelFormatException(file.toString(), "holds no layer of " + m.model());
        return new Loaded(m, List.copyOf(layers.values()), EncoderQuantizer.withLayers(fp32, layers));
    }

    private static EncoderModel builtinBase(Path file, QbzManifest m) throws IOException {
        EncoderModel.Builtin base = EncoderModel.Builtin.byAlias(m.model());
        if (base == null) throw new ModelFormatException(file.toString(), "base model '" + m.model() + "' is not a built-in encoder");
        // one read of the ONNX resource (91 MB for minilm, inflated from its jar) for both the digest and the model
        byte[] onnx = EncoderModel.onnxBytes(base);
        String sha = baseSha256(base, onnx);
        if (!sha.equals(m.baseSha256())) {
            throw new ModelFormatException(file.toString(), "was made from a different " + m.model() + " (base sha256 " + m.baseSha256() + ", this one is " + sha + ")");
        }
        return EncoderModel.load(base, onnx);
    }

    private static EncoderModel fileBase(Path file, QbzManifest m, BaseLookup bases) throws IOException {
        String src = file.toString();
        FileBase b = bases.find(m);
        if (b == null) {
            throw new ModelFormatException(src, "was quantized from a base that is not built in: the BERT .onnx with sha256 " + m.baseSha256()
                    + " (tokenizer.json sha256 " + m.external().tokenizerSha256() + "); give that base file (qbridge: --base FILE.onnx, its tokenizer.json beside it)");
        }
        if (!b.onnxSha256().equals(m.baseSha256())) {
            throw new ModelFormatException(src, "was quantized from the base with sha256 " + m.baseSha256() + ", but the base given (" + b.source()
                    + ") has sha256 " + b.onnxSha256());
        }
        if (!b.tokenizerSha256().equals(m.external().tokenizerSha256())) {
            throw new ModelFormatException(src, "was quantized with the tokenizer.json of sha256 " + m.external().tokenizerSha256() + ", but the base given ("
                    + b.source() + ") has a tokenizer of sha256 " + b.tokenizerSha256());
        }
        return b.model(Pooling.valueOf(m.external().pooling().toUpperCase(Locale.ROOT)));
    }

    /** A loaded container: its manifest, its layers and the model computing with them. */
    public record Loaded(QbzManifest manifest, List<QuantizedLayer> layers, EncoderModel model) {}

    static String biasName(String weightName) {
        return weightName.endsWith(".weight") ? weightName.substring(0, weightName.length() - ".weight".length()) + ".bias" : weightName + ".bias";
    }

    private static final Map<EncoderModel.Builtin, String> SHA = new java.util.concurrent.ConcurrentHashMap<>();

    static String baseSha256(EncoderModel.Builtin b) throws IOException {
        String s = SHA.get(b);
        return s != null ? s : baseSha256(b, EncoderModel.onnxBytes(b));
    }

    /** The digest of {@code onnx}, the bytes of {@code b}'s ONNX resource: remembered in this process and in the resource cache. */
    private static String baseSha256(EncoderModel.Builtin b, byte[] onnx) throws IOException {
        String s = SHA.get(b);
        if (s == null) {
            s = ResourceCache.sha256(EncoderModel.class, b.onnxResource, onnx);
            SHA.put(b, s);
        }
        return s;
    }

}
