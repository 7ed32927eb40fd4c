package io.qbridge.runtime;

import io.qbridge.device.Accelerator;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.RunResult;
import io.qbridge.model.Linear;
import java.util.Objects;

/**
 * Several device-resident layers that read the same input, seen as one {@link Linear} whose outputs are theirs
 * side by side (part 0's N_0 outputs, then part 1's, ...): a decoder block's q/k/v and w1/w3 on a device, the
 * fused views of {@link io.qbridge.model.llama.LlamaWeights.Layer}. A forward is one {@link Accelerator#runShared}
 * call, so the device quantizes the input once and runs the parts in one pass; the parts stay separately loaded
 * layers under their own names (a per-layer configured mode keeps each one's configuration, and the run
 * statistics count each part under its name). The outputs are the bits of the parts run one by one.
 */
public final class SharedInputLinear implements Linear {
    private final String name;
    private final AcceleratorLinear[] parts;
    private final LayerHandle[] handles;
    private final Accelerator device;
    private final RunStats stats;
    private final int n, k;

    private SharedInputLinear(String name, AcceleratorLinear[] parts) {
        this.name = name;
        this.parts = parts;
        this.device = parts[0].device();
        this.stats = parts[0].stats();
        this.k = parts[0].inFeatures();
        handles = new LayerHandle[parts.length];
        int total = 0;
        for (int i = 0; i < parts.length; i++) {
            handles[i] = parts[i].handle();
            total += parts[i].outFeatures();
        }
        this.n = total;
    }

    /**
     * The layers {@code parts} as one shared-input layer named {@code name}, or null when they cannot share a call:
     * one of them is not on a device, they are on different devices or count into different statistics, their K
     * differ, or one reads its input permuted (act-order: its packed columns are in another order than the others').
     */
    public static Linear of(String name, Linear... parts) {
        Objects.requireNonNull(name, "name");
        if (parts.length == 0) return null;
        AcceleratorLinear[] a = new AcceleratorLinear[parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (!(parts[i] instanceof AcceleratorLinear al) || al.permutesInput()) return null;
            if (i > 0 && (al.device() != a[0].device() || al.stats() != a[0].stats() || al.inFeatures() != a[0].inFeatures())) return null;
            a[i] = al;
        }
        return new SharedInputLinear(name, a);
    }

    @Override public String name() { return name; }
    @Override public int inFeatures() { return k; }
    @Override public int outFeatures() { return n; }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        float[][] ys = new float[parts.length][];
        for (int i = 0; i < parts.length; i++) ys[i] = new float[rows * parts[i].outFeatures()];
        RunResult[] results = device.runShared(handles, x, rows, ys);
        for (int i = 0; i < parts.length; i++) stats.record(parts[i].name(), results[i], rows);
        for (int r = 0, off = 0; r < rows; r++) {
            for (int i = 0; i < parts.length; i++) {
                int ni = parts[i].outFeatures();
                System.arraycopy(ys[i], r * ni, y, off, ni);
                off += ni;
            }
        }
    }

    /** The parts' exact dequantized weights, rows stacked: [N_0 + N_1 + ...][K]. */
    @Override
    public float[] weightsOutIn() {
        float[] out = new float[n * k];
        for (int i = 0, off = 0; i < parts.length; i++) {
            float[] w = parts[i].weightsOutIn();
            System.arraycopy(w, 0, out, off, w.length);
            off += w.length;
        }
        return out;
    }

    /** The parts' biases side by side (a part without one contributes zeros), or null when no part has one. */
    @Override
    public float[] bias() {
        float[] out = null;
        for (int i = 0, off = 0; i < parts.length; i++) {
            float[] b = parts[i].bias();
            if (b != null) {
                if (out == null) out = new float[n];
                System.arraycopy(b, 0, out, off, b.length);
            }
            off += parts[i].outFeatures();
        }
        return out;
    }
}
