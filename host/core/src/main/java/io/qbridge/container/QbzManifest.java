package io.qbridge.container;

import io.qbridge.model.llama.LlamaConfig;
import java.util.List;
import java.util.Map;

/**
 * What a container holds. {@code model} names the base model and {@code baseSha256} pins its exact bytes;
 * {@code settings} records how it was quantized (format, algorithm, calibration) as strings. {@code base} says
 * what kind of base it is ({@link Base}, a closed set):
 * <ul>
 *   <li>{@link Builtin}: a built-in encoder, {@code model} is its alias and {@code baseSha256} the sha256 of its
 *       ONNX file; the container holds only the linear layers, which plug into that base.</li>
 *   <li>{@link External}: a BERT {@code .onnx} file the container does not carry (an uploaded or local file):
 *       {@code model} is only a label ({@link #externalLabel}), the base is found by {@code baseSha256} alone, and
 *       the record pins the tokenizer and names the pooling it runs with.</li>
 *   <li>{@link Decoder}: a LLaMA-family decoder checkpoint; the container carries everything it runs with (the
 *       packed block layers, the FP32 embedding, norms and classifier, and the tokenizer's bytes), so the
 *       checkpoint is not needed again: {@code baseSha256} pins it for provenance, and {@code model} is the label
 *       {@link #decoderLabel}.</li>
 * </ul>
 */
public record QbzManifest(String model, String baseSha256, Base base, String format, Map<String, String> settings, List<Tensor> tensors,
                          long fileLength) {
    public QbzManifest {
        if (base == null) base = Builtin.INSTANCE;
    }

    /** A manifest of a container on a built-in base ({@code external} null) or on an ONNX file base. */
    public QbzManifest(String model, String baseSha256, External external, String format, Map<String, String> settings, List<Tensor> tensors,
                       long fileLength) {
        this(model, baseSha256, (Base) external, format, settings, tensors, fileLength);
    }

    /** A manifest of a container on a built-in base. */
    public QbzManifest(String model, String baseSha256, String format, Map<String, String> settings, List<Tensor> tensors, long fileLength) {
        this(model, baseSha256, (Base) null, format, settings, tensors, fileLength);
    }

    /** Whether the base is an ONNX file rather than a built-in model. */
    public boolean hasExternalBase() {
        return base instanceof External;
    }

    /** The ONNX file base, or null for any other kind of base. */
    public External external() {
        return base instanceof External e ? e : null;
    }

    /** The decoder base, or null for an encoder container. */
    public Decoder decoder() {
        return base instanceof Decoder d ? d : null;
    }

    /**
     * The {@code model} label of a container on a file base: {@code onnx-} and the first 12 hex digits of the
     * base's sha256. It depends only on the base's bytes (not on a file or upload name), so the same file
     * quantized with the same recipe gives the same container bytes wherever it is quantized.
     */
    public static String externalLabel(String baseSha256) {
        return "onnx-" + baseSha256.substring(0, Math.min(12, baseSha256.length()));
    }

    /** The {@code model} label of a decoder container: the family, '-' and the first 12 hex digits of the checkpoint's sha256. */
    public static String decoderLabel(String family, String baseSha256) {
        return family + "-" + baseSha256.substring(0, Math.min(12, baseSha256.length()));
    }

    /** The kind of base model a container was quantized from. */
    public sealed interface Base permits Builtin, External, Decoder {}

    /** A built-in encoder, named by {@code model}. */
    public record Builtin() implements Base {
        public static final Builtin INSTANCE = new Builtin();
    }

    /**
     * The tokenizer and pooling of a file base (an ONNX graph carries neither).
     *
     * @param tokenizerSha256 sha256 of the {@code tokenizer.json} bytes the base was quantized with
     * @param pooling         {@code cls} or {@code mean}
     */
    public record External(String tokenizerSha256, String pooling) implements Base {}

    /**
     * A LLaMA-family decoder, carried whole by the container.
     *
     * @param family     {@code llama} (the only decoder family today)
     * @param checkpoint the checkpoint format it was quantized from: {@code llama2c}, {@code gguf} or {@code hf}
     * @param config     its shape and scalar hyper-parameters
     * @param tokenizer  the name of the container entry holding the tokenizer's bytes: {@code tokenizer.bin}
     *                   (llama2.c's format) or {@code tokenizer.json} (Hugging Face's)
     */
    public record Decoder(String family, String checkpoint, LlamaConfig config, String tokenizer) implements Base {
        public static final String LLAMA = "llama";
        public static final List<String> CHECKPOINTS = List.of("llama2c", "gguf", "hf");
        public static final List<String> TOKENIZERS = List.of("tokenizer.bin", "tokenizer.json");

        public Decoder {
            if (!LLAMA.equals(family)) throw new IllegalArgumentException("decoder family '" + family + "' is not supported (only llama)");
            if (!CHECKPOINTS.contains(checkpoint)) throw new IllegalArgumentException("decoder checkpoint kind '" + checkpoint + "' is not one of " + CHECKPOINTS);
            if (!TOKENIZERS.contains(tokenizer)) throw new IllegalArgumentException("decoder tokenizer '" + tokenizer + "' is not one of " + TOKENIZERS);
            java.util.Objects.requireNonNull(config);
        }
    }

    /**
     * Where a tensor's bytes are. {@code format} is a format id for packed tensors, {@code f32} for floats and
     * {@code bytes} for an opaque byte string (a decoder's tokenizer file). {@code inputPerm} (packed tensors only,
     * else null): the act-order column order, stored column j holds input feature {@code inputPerm[j]}; validated
     * on open to be a permutation of 0..K-1.
     */
    public record Tensor(String name, String format, long[] shape, long offset, long length, String sha256, int[] inputPerm) {
        public Tensor(String name, String format, long[] shape, long offset, long length, String sha256) {
            this(name, format, shape, offset, length, sha256, null);
        }
    }
}
