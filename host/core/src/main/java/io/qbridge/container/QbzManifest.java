package io.qbridge.container;

import java.util.List;
import java.util.Map;

/**
 * What a container holds. {@code model} names the base model whose non-linear parameters (embeddings,
 * norms) the packed linear layers plug into, and {@code baseSha256} pins its exact bytes (the sha256 of its
 * ONNX file); {@code settings} records how it was quantized (format, algorithm, calibration) as strings.
 *
 * <p>{@code external} is null when the base is a built-in model: {@code model} is then its alias. Otherwise
 * the base is a file the container does not carry (an uploaded or local BERT {@code .onnx}): {@code model} is
 * only a label ({@link #externalLabel}), the base is found by {@code baseSha256} alone, and {@code external}
 * pins the tokenizer and names the pooling it runs with.
 */
public record QbzManifest(String model, String baseSha256, External external, String format, Map<String, String> settings, List<Tensor> tensors,
                          long fileLength) {
    /** A manifest of a container on a built-in base. */
    public QbzManifest(String model, String baseSha256, String format, Map<String, String> settings, List<Tensor> tensors, long fileLength) {
        this(model, baseSha256, null, format, settings, tensors, fileLength);
    }

    /** Whether the base is a file rather than a built-in model. */
    public boolean hasExternalBase() {
        return external != null;
    }

    /**
     * The {@code model} label of a container on a file base: {@code onnx-} and the first 12 hex digits of the
     * base's sha256. It depends only on the base's bytes (not on a file or upload name), so the same file
     * quantized with the same recipe gives the same container bytes wherever it is quantized.
     */
    public static String externalLabel(String baseSha256) {
        return "onnx-" + baseSha256.substring(0, Math.min(12, baseSha256.length()));
    }

    /**
     * The tokenizer and pooling of a file base (an ONNX graph carries neither).
     *
     * @param tokenizerSha256 sha256 of the {@code tokenizer.json} bytes the base was quantized with
     * @param pooling         {@code cls} or {@code mean}
     */
    public record External(String tokenizerSha256, String pooling) {}

    /**
     * Where a tensor's bytes are. {@code format} is a format id for packed tensors and {@code f32} for floats.
     * {@code inputPerm} (packed tensors only, else null): the act-order column order, stored column j holds input
     * feature {@code inputPerm[j]}; validated on open to be a permutation of 0..K-1.
     */
    public record Tensor(String name, String format, long[] shape, long offset, long length, String sha256, int[] inputPerm) {
        public Tensor(String name, String format, long[] shape, long offset, long length, String sha256) {
            this(name, format, shape, offset, length, sha256, null);
        }
    }
}
