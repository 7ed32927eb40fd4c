package io.qbridge.quant;

import io.qbridge.compute.Parallel;

/**
 * Accumulates H = 2 X^T X over calibration activations added in batches of rows. Only the upper triangle
 * is accumulated (it is symmetric) in double precision; {@link #hessian()} returns the full matrix.
 * GPTQ is invariant to a positive scaling of H (the damping is relative), so we do not divide by the
 * number of rows as the reference code does.
 */
public final class HessianAccumulator {
    private final int k;
    private final double[] s; // upper triangle of X^T X, row-major k*k
    private long rows;

    public HessianAccumulator(int k) {
        if (k <= 0 || (long) k * k > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("k must be in [1, 46340], got " + k);
        this.k = k;
        this.s = new double[k * k];
    }

    public int k() {
        return k;
    }

    public long rows() {
        return rows;
    }

    /** Adds {@code count} activation rows, {@code x} is [count][k] row-major. */
    public void add(float[] x, int count) {
        if (x == null) throw new IllegalArgumentException("activations are null");
        if (count < 0 || (long) count * k != x.length)
            throw new IllegalArgumentException("activations length " + x.length + " does not match " + count + " rows of k = " + k);
        for (float v : x) if (!Float.isFinite(v)) throw new IllegalArgumentException("activations contain a non-finite value " + v);
        // Rows of S are owned by one thread each; the triangle makes early rows heavier, the many chunks balance it.
        Parallel.forRange(k, 8, (from, to) -> {
            for (int t = 0; t < count; t++) {
                int xo = t * k;
                for (int i = from; i < to; i++) {
                    double xi = x[xo + i];
                    if (xi == 0) continue;
                    int so = i * k;
                    for (int j = i; j < k; j++) s[so + j] += xi * x[xo + j];
                }
            }
        });
        rows += count;
    }

    /** H = 2 X^T X as a full symmetric k*k row-major matrix (a fresh copy). */
    public double[] hessian() {
        double[] h = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = i; j < k; j++) {
                double v = 2 * s[i * k + j];
                h[i * k + j] = v;
                h[j * k + i] = v;
            }
        return h;
    }
}
