package io.qbridge.container;

import java.util.List;
import java.util.Map;

/**
 * What a container holds. {@code model} names the base model (alias or file name) whose non-linear
 * parameters (embeddings, norms) the packed linear layers plug into, and {@code baseSha256} pins its exact
 * bytes; {@code settings} records how it was quantized (format, algorithm, calibration) as strings.
 */
public record QbzManifest(String model, String baseSha256, String format, Map<String, String> settings, List<Tensor> tensors, long fileLength) {
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
