package io.qbridge.runtime;

import io.qbridge.device.Accelerator;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.RunResult;
import io.qbridge.format.PackedTensor;
import io.qbridge.model.Linear;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.Objects;

/**
 * A linear layer whose packed weights are resident on an {@link Accelerator}: loaded once at construction,
 * run on every {@link #forward} (the device quantizes activations on the way in and dequantizes on the way
 * out), each run's cost added to a shared {@link RunStats}.
 */
public final class AcceleratorLinear implements Linear {
    private final String name;
    private final Accelerator device;
    private final PackedTensor packed;
    private final float[] bias;
    private final LayerHandle handle;
    private final RunStats stats;
    private final int[] inputPerm;

    public AcceleratorLinear(String name, Accelerator device, PackedTensor packed, float[] bias, RunStats stats) {
        this(name, device, packed, bias, stats, null);
    }

    /**
     * @param inputPerm null, or act-order's column order: packed column j is input feature inputPerm[j]. The
     *                  device then reads x[inputPerm[j]]: the host gathers each input row into that order before
     *                  the run (exact: a copy, the dot products are the same sums in the packed order).
     */
    public AcceleratorLinear(String name, Accelerator device, PackedTensor packed, float[] bias, RunStats stats, int[] inputPerm) {
        this.name = Objects.requireNonNull(name, "name");
        this.device = Objects.requireNonNull(device, "device");
        this.packed = Objects.requireNonNull(packed, "packed");
        this.bias = bias == null ? null : bias.clone();
        this.stats = Objects.requireNonNull(stats, "stats");
        this.inputPerm = inputPerm == null ? null : inputPerm.clone();
        if (inputPerm != null && inputPerm.length != packed.k())
            throw new IllegalArgumentException(name + ": input permutation has " + inputPerm.length + " entries, K is " + packed.k());
        this.handle = device.load(name, packed, this.bias); // named: a per-layer configured mode (Ax-BxP) looks it up
    }

    public static AcceleratorLinear of(QuantizedLayer layer, Accelerator device, RunStats stats) {
        return new AcceleratorLinear(layer.name(), device, layer.packed(), layer.bias(), stats, layer.inputPerm());
    }

    @Override public String name() { return name; }
    @Override public int inFeatures() { return packed.k(); }
    @Override public int outFeatures() { return packed.n(); }
    @Override public float[] bias() { return bias == null ? null : bias.clone(); }

    public LayerHandle handle() { return handle; }
    Accelerator device() { return device; }
    RunStats stats() { return stats; }
    /** Whether the device reads the input in act-order's permuted column order. */
    boolean permutesInput() { return inputPerm != null; }
    public PackedTensor packed() { return packed; }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        if (inputPerm != null) {
            int k = packed.k();
            float[] gathered = new float[rows * k];
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < k; j++) gathered[r * k + j] = x[r * k + inputPerm[j]];
            x = gathered;
        }
        RunResult r = device.run(handle, x, rows, y);
        stats.record(name, r, rows);
    }

    /** The exact dequantized weights of the packed image, [N][K]. */
    @Override
    public float[] weightsOutIn() {
        return QuantizedLayer.unpermuteColumns(packed.format().dequantize(packed), packed.n(), packed.k(), inputPerm);
    }
}
