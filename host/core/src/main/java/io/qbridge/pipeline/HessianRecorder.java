package io.qbridge.pipeline;

import io.qbridge.compute.MatMul;
import io.qbridge.model.ForwardingLinear;
import io.qbridge.model.Linear;

/**
 * A linear layer that also accumulates GPTQ's {@code H = 2 X^T X} over every batch it sees; the arithmetic
 * is the wrapped layer's. Used for one calibration pass, then dropped.
 *
 * <p>{@code X^T X} of a batch is one matrix product in FP32 (as GPTQ's reference computes it), added into
 * a double-precision sum across batches. Layers that read the same activations (query, key and value)
 * share one {@link Gram} so the product is computed once.
 */
final class HessianRecorder extends ForwardingLinear {
    /** The running {@code 2 X^T X} for one input, shared by the layers that read it. */
    static final class Gram {
        private final int k;
        private final double[] h;
        private float[] lastInput;
        private int lastRows;
        private long rows;

        Gram(int k) {
            this.k = k;
            this.h = new double[k * k];
        }

        synchronized void add(float[] x, int count) {
            if (x == lastInput && count == lastRows) return; // the sibling layer already added this batch
            lastInput = x;
            lastRows = count;
            float[] xt = new float[k * count];
            for (int r = 0; r < count; r++) {
                for (int c = 0; c < k; c++) xt[c * count + r] = x[r * k + c];
            }
            float[] g = new float[k * k];
            MatMul.inOut(xt, k, count, x, k, g);
            for (int i = 0; i < g.length; i++) h[i] += 2.0 * g[i];
            rows += count;
        }

        double[] hessian() {
            return h.clone();
        }

        long rows() {
            return rows;
        }
    }

    private final Gram gram;

    HessianRecorder(Linear inner, Gram gram) {
        super(inner);
        if (gram.k != inner.inFeatures()) throw new IllegalArgumentException(inner.name() + ": Gram of size " + gram.k + " for K=" + inner.inFeatures());
        this.gram = gram;
    }

    Gram gram() {
        return gram;
    }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        gram.add(x, rows);
        inner.forward(x, rows, y);
    }
}
