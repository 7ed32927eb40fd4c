package io.qbridge.model;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * A linear layer made on its first use: a model read from a file can hold the host form of every layer (dequantized,
 * transposed) without paying for it when the layers run elsewhere (a {@code .qbz} on a device never calls them).
 * The made layer is kept; concurrent first calls make it once.
 */
public final class DeferredLinear implements Linear {
    private final String name;
    private final int in;
    private final int out;
    private final float[] bias;
    private Supplier<? extends Linear> make;
    private volatile Linear made;

    /** {@code make} must give a layer of this name and shape. */
    public DeferredLinear(String name, int in, int out, float[] bias, Supplier<? extends Linear> make) {
        this.name = Objects.requireNonNull(name);
        this.in = in;
        this.out = out;
        this.bias = bias;
        this.make = Objects.requireNonNull(make);
    }

    private Linear layer() {
        Linear l = made;
        if (l != null) return l;
        synchronized (this) {
            if (made == null) {
                Linear m = make.get();
                if (m.inFeatures() != in || m.outFeatures() != out)
                    throw new IllegalStateException(name + ": made a " + m.outFeatures() + "x" + m.inFeatures() + " layer, not " + out + "x" + in);
                made = m;
                make = null;
            }
            return made;
        }
    }

    @Override public String name() { return name; }
    @Override public int inFeatures() { return in; }
    @Override public int outFeatures() { return out; }
    @Override public float[] bias() { return bias; }
    @Override public float[] weightsOutIn() { return layer().weightsOutIn(); }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        layer().forward(x, rows, y);
    }
}
