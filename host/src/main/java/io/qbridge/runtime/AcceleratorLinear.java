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

    public AcceleratorLinear(String name, Accelerator device, PackedTensor packed, float[] bias, RunStats stats) {
        this.name = Objects.requireNonNull(name, "name");
        this.device = Objects.requireNonNull(device, "device");
        this.packed = Objects.requireNonNull(packed, "packed");
        this.bias = bias == null ? null : bias.clone();
        this.stats = Objects.requireNonNull(stats, "stats");
        this.handle = device.load(packed, this.bias);
    }

    public static AcceleratorLinear of(QuantizedLayer layer, Accelerator device, RunStats stats) {
        return new AcceleratorLinear(layer.name(), device, layer.packed(), layer.bias(), stats);
    }

    @Override public String name() { return name; }
    @Override public int inFeatures() { return packed.k(); }
    @Override public int outFeatures() { return packed.n(); }
    @Override public float[] bias() { return bias == null ? null : bias.clone(); }

    public LayerHandle handle() { return handle; }
    public PackedTensor packed() { return packed; }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        RunResult r = device.run(handle, x, rows, y);
        stats.record(name, r, rows);
    }

    /** The exact dequantized weights of the packed image, [N][K]. */
    @Override
    public float[] weightsOutIn() {
        return packed.format().dequantize(packed);
    }
}
