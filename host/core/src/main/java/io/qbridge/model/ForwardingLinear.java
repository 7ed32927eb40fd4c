package io.qbridge.model;

/**
 * A linear layer that wraps another: it reports the wrapped layer's name, shape, weights and bias, and
 * subclasses decide what {@link #forward} adds (recording activations, measuring error, timing).
 */
public abstract class ForwardingLinear implements Linear {
    protected final Linear inner;

    protected ForwardingLinear(Linear inner) {
        this.inner = java.util.Objects.requireNonNull(inner);
    }

    @Override public String name() { return inner.name(); }
    @Override public int inFeatures() { return inner.inFeatures(); }
    @Override public int outFeatures() { return inner.outFeatures(); }
    @Override public float[] weightsOutIn() { return inner.weightsOutIn(); }
    @Override public float[] bias() { return inner.bias(); }
}
