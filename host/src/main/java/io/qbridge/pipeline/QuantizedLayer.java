package io.qbridge.pipeline;

import io.qbridge.format.PackedTensor;
import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;

/**
 * One quantized linear layer: its packed byte image, its FP32 bias, and the exact dequantized weights
 * ({@code [N][K]}) that the host path computes with.
 */
public record QuantizedLayer(String name, PackedTensor packed, float[] bias, float[] dequantized) {
    /** An FP32 layer over the dequantized weights (transposed once into the encoder's fast layout). */
    public Linear toHostLinear() {
        int n = packed.n(), k = packed.k();
        float[] kn = new float[n * k];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) kn[j * n + i] = dequantized[i * k + j];
        }
        return DenseLinear.inOut(name, kn, k, n, bias);
    }
}
