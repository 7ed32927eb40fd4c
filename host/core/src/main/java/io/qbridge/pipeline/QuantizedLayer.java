package io.qbridge.pipeline;

import io.qbridge.format.PackedTensor;
import io.qbridge.model.DeferredLinear;
import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;

/**
 * One quantized linear layer: its packed byte image, its FP32 bias, and the exact dequantized weights
 * ({@code [N][K]}, always in the model's original input order) that the host path computes with (for a layer read
 * from a container, computed when first asked for).
 * {@code inputPerm} is null, or GPTQ's act-order column order: the packed image's column j is input feature
 * {@code inputPerm[j]}, so a device holding it reads its activations as {@code x[inputPerm[j]]}. {@code packed} is
 * null for a simulated recipe's layer ({@link EncoderQuantizer#simulate}).
 */
public final class QuantizedLayer {
    private final String name;
    private final PackedTensor packed;
    private final float[] bias;
    private final int[] inputPerm;
    /** Null until first asked for when the layer was {@link #stored} (a device run never asks). */
    private volatile float[] dequantized;

    public QuantizedLayer(String name, PackedTensor packed, float[] bias, float[] dequantized, int[] inputPerm) {
        this.name = name;
        this.packed = packed;
        this.bias = bias;
        this.dequantized = java.util.Objects.requireNonNull(dequantized, "dequantized");
        this.inputPerm = inputPerm;
    }

    public QuantizedLayer(String name, PackedTensor packed, float[] bias, float[] dequantized) {
        this(name, packed, bias, dequantized, null);
    }

    private QuantizedLayer(String name, PackedTensor packed, float[] bias, int[] inputPerm) {
        this.name = name;
        this.packed = java.util.Objects.requireNonNull(packed, "packed");
        this.bias = bias;
        this.inputPerm = inputPerm;
    }

    /**
     * A layer read from a container: its exact dequantized weights are computed from {@code packed} when first asked
     * for, since a device run of the container needs only the packed image.
     */
    public static QuantizedLayer stored(String name, PackedTensor packed, float[] bias, int[] inputPerm) {
        return new QuantizedLayer(name, packed, bias, inputPerm);
    }

    public String name() { return name; }
    public PackedTensor packed() { return packed; }
    public float[] bias() { return bias; }
    public int[] inputPerm() { return inputPerm; }

    /** The exact dequantized weights, {@code [N][K]} in input order. */
    public float[] dequantized() {
        float[] d = dequantized;
        if (d != null) return d;
        synchronized (this) {
            if (dequantized == null) dequantized = unpermuteColumns(packed.format().dequantize(packed), packed.n(), packed.k(), inputPerm);
            return dequantized;
        }
    }

    /** An FP32 layer over the dequantized weights (transposed once into the encoder's fast layout). */
    public Linear toHostLinear() {
        if (packed == null) throw new IllegalStateException(name + ": a simulated layer has no packed shape; use toHostLinear(n, k)");
        return toHostLinear(packed.n(), packed.k());
    }

    /**
     * The same for an [n][k] layer, also when {@code packed} is null (a simulated recipe's dequantized weights only). A
     * {@link #stored} layer's host form is made on its first use.
     */
    public Linear toHostLinear(int n, int k) {
        float[] d = dequantized;
        long weights = d != null ? d.length : (long) packed.n() * packed.k();
        if ((long) n * k != weights) throw new IllegalArgumentException(name + ": " + n + "x" + k + " does not match " + weights + " weights");
        return d != null ? transposed(n, k) : new DeferredLinear(name, k, n, bias, () -> transposed(n, k));
    }

    /** The dequantized weights as {@code [K][N]}, the shape checked by the caller. */
    private Linear transposed(int n, int k) {
        float[] dequantized = dequantized();
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
