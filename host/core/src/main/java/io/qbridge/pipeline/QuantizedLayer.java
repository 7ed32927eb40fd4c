package io.qbridge.pipeline;

import io.qbridge.format.PackedTensor;
import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;

/**
 * One quantized linear layer: its packed byte image, its FP32 bias, and the exact dequantized weights
 * ({@code [N][K]}, always in the model's original input order) that the host path computes with.
 * {@code inputPerm} is null, or GPTQ's act-order column order: the packed image's column j is input feature
 * {@code inputPerm[j]}, so a device holding it reads its activations as {@code x[inputPerm[j]]}. {@code packed} is
 * null for a simulated recipe's layer ({@link EncoderQuantizer#simulate}).
 */
public record QuantizedLayer(String name, PackedTensor packed, float[] bias, float[] dequantized, int[] inputPerm) {
    public QuantizedLayer(String name, PackedTensor packed, float[] bias, float[] dequantized) {
        this(name, packed, bias, dequantized, null);
    }

    /** An FP32 layer over the dequantized weights (transposed once into the encoder's fast layout). */
    public Linear toHostLinear() {
        if (packed == null) throw new IllegalStateException(name + ": a simulated layer has no packed shape; use toHostLinear(n, k)");
        return toHostLinear(packed.n(), packed.k());
    }

    /** The same for an [n][k] layer, also when {@code packed} is null (a simulated recipe's dequantized weights only). */
    public Linear toHostLinear(int n, int k) {
        if ((long) n * k != dequantized.length) throw new IllegalArgumentException(name + ": " + n + "x" + k + " does not match " + dequantized.length + " weights");
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
