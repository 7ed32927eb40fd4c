package io.qbridge.pipeline;

import io.qbridge.container.QbzEntry;
import io.qbridge.container.QbzFile;
import io.qbridge.container.QbzManifest;
import io.qbridge.format.PackedTensor;
import io.qbridge.model.Linear;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.bert.EncoderModel;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Quantized encoders in {@code .qbz} containers. A container holds each linear layer's packed weights
 * ({@code <layer>.weight}) and FP32 bias ({@code <layer>.bias}); embeddings and norms stay in the base
 * model, which the manifest names (a built-in alias) and pins by the sha256 of its ONNX file. A layer quantized
 * with act-order keeps its packed columns in quantization order and its permutation in the manifest; loading
 * un-permutes the dequantized weights for the host path, and the device path gathers its input instead.
 */
public final class QuantizedEncoders {
    private QuantizedEncoders() {}

    public static void save(Path out, EncoderModel.Builtin base, EncoderQuantizer.Result r) throws IOException {
        List<QbzEntry> entries = new ArrayList<>();
        for (QuantizedLayer q : r.layers()) {
            entries.add(new QbzEntry.Packed(q.name(), q.packed(), q.inputPerm()));
            if (q.bias() != null) entries.add(new QbzEntry.Floats(biasName(q.name()), q.bias(), new long[] {q.bias().length}));
        }
        QbzFile.write(out, base.alias, baseSha256(base), r.recipe().format().id(), r.settings(), entries);
    }

    /** Loads a container onto its base model: each listed layer computes with its exact dequantized weights. */
    public static Loaded load(Path file) throws IOException {
        QbzFile f = QbzFile.open(file);
        QbzManifest m = f.manifest();
        EncoderModel.Builtin base = EncoderModel.Builtin.byAlias(m.model());
        if (base == null) throw new ModelFormatException(file.toString(), "base model '" + m.model() + "' is not a built-in encoder");
        String sha = baseSha256(base);
        if (!sha.equals(m.baseSha256())) {
            throw new ModelFormatException(file.toString(), "was made from a different " + m.model() + " (base sha256 " + m.baseSha256() + ", this one is " + sha + ")");
        }
        EncoderModel fp32 = EncoderModel.load(base);
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
            // act-order: the packed columns are in quantization order; the host path gets the weights back in input order.
            int[] perm = f.inputPerm(lin.name());
            float[] deq = QuantizedLayer.unpermuteColumns(p.format().dequantize(p), p.n(), p.k(), perm);
            layers.put(lin.name(), new QuantizedLayer(lin.name(), p, bias, deq, perm));
        }
        if (layers.isEmpty()) throw new ModelFormatException(file.toString(), "holds no layer of " + m.model());
        return new Loaded(m, List.copyOf(layers.values()), EncoderQuantizer.withLayers(fp32, layers));
    }

    /** A loaded container: its manifest, its layers and the model computing with them. */
    public record Loaded(QbzManifest manifest, List<QuantizedLayer> layers, EncoderModel model) {}

    static String biasName(String weightName) {
        return weightName.endsWith(".weight") ? weightName.substring(0, weightName.length() - ".weight".length()) + ".bias" : weightName + ".bias";
    }

    private static final Map<EncoderModel.Builtin, String> SHA = new java.util.concurrent.ConcurrentHashMap<>();

    static String baseSha256(EncoderModel.Builtin b) throws IOException {
        String s = SHA.get(b);
        if (s == null) {
            try {
                s = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(EncoderModel.onnxBytes(b)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            SHA.put(b, s);
        }
        return s;
    }

}
