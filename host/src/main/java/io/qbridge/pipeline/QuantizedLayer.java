package io.qbridge.pipeline;

import io.qbridge.format.PackedTensor;
import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;

/**
 * One quantized linear layer: its packed byte image, its FP32 bias, and the exact dequantized weights
 * ({@code [N][K]}, always in the model's original input order) that the host path computes with.
 * {@code inputPerm} is null, or GPTQ's act-order column order: the packed image's column j is input feature
 * {@code inputPerm[j]}, so a device holding it reads its activations as {@code x[inputPerm[j]]}.
 */
public record QuantizedLayer(String name, PackedTensor packed, float[] bias, float[] dequantized, int[] inputPerm) {
    public QuantizedLayer(String name, PackedTensor packed, float[] bias, float[] dequantized) {
        this(name, packed, bias, dequantized, null);
    }

    /** An FP32 layer over the dequantized weights (transposed once into the encoder's fast layout). */
    public Linear toHostLinear() {
        int n = packed.n(), k = packed.k();
        float[] kn = new float[n * k];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) kn[j * n + i] = dequantized[i * k + j];
        }
        return DenseLinear.inOut(name, kn, k, n, bias);
    }

    /** Dequantized weights of a packed image whose column j is input feature perm[j], back in input order. */
    public static float[] unpermuteColumns(float[] stored, int n, int k, int[] perm) {
        if (perm == null) return stored;
        float[] out = new float[stored.length];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < k; j++) out[r * k + perm[j]] = stored[r * k + j];
        return out;
    }
}
