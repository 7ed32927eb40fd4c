package io.qbridge.model.llama;

import io.qbridge.compute.MatMul;
import io.qbridge.compute.VectorOps;
import io.qbridge.model.Linear;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * An FP32 linear layer with weights {@code [N][K]} at an offset of a shared array (llama2.c and safetensors
 * layout, like {@link io.qbridge.model.DenseLinear#outIn}), tuned for decoding: a few rows are split over the
 * {@link SpinTeam}, whose fan-out costs microseconds where fork-join costs tens of them; many rows (a prompt)
 * go to {@link MatMul#outIn}. Same arithmetic as {@link MatMul#outIn} per output (4 weight rows at a time,
 * vector FMAs along K).
 */
final class LowLatencyDenseLinear implements Linear {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Up to this many activation rows use the team; more go to fork-join, which then has enough work. */
    private static final int MAX_TEAM_ROWS = 8;
    /** Weights per chunk at least, so a chunk outweighs the cost of handing it out. */
    private static final int MIN_CHUNK_WEIGHTS = 1 << 14;

    private final String name;
    private final float[] w;
    private final int offset, in, out;

    LowLatencyDenseLinear(String name, float[] w, int offset, int in, int out) {
        this.name = Objects.requireNonNull(name);
        if (in <= 0 || out <= 0) throw new IllegalArgumentException(name + ": bad shape " + out + "x" + in);
        if (offset < 0 || (long) offset + (long) in * out > w.length) {
            throw new IllegalArgumentException(name + ": weights need values [" + offset + ", " + ((long) offset + (long) in * out)
                    + ") but the array has " + w.length);
        }
        this.w = w;
        this.offset = offset;
        this.in = in;
        this.out = out;
    }

    @Override public String name() { return name; }
    @Override public int inFeatures() { return in; }
    @Override public int outFeatures() { return out; }
    @Override public float[] bias() { return null; }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        if (rows > MAX_TEAM_ROWS) {
            MatMul.outIn(x, rows, in, w, offset, out, y);
            return;
        }
        if ((long) rows * in > x.length || (long) rows * out > y.length) {
            throw new IllegalArgumentException(name + ": " + rows + " rows need " + rows * in + " inputs and " + rows * out
                    + " outputs, have " + x.length + " and " + y.length);
        }
        int quads = (out + 3) / 4;
        int grain = Math.max(1, MIN_CHUNK_WEIGHTS / (4 * in));
        SpinTeam.shared().forRange(quads, grain, (q0, q1) -> rowsRange(x, rows, y, q0 * 4, Math.min(out, q1 * 4)));
    }

    @Override
    public float[] weightsOutIn() {
        float[] copy = new float[in * out];
        System.arraycopy(w, offset, copy, 0, copy.length);
        return copy;
    }

    /** Outputs [j0, j1) of every row. */
    private void rowsRange(float[] x, int rows, float[] y, int j0, int j1) {
        int j = j0;
        for (; j + 4 <= j1; j += 4) dot4(x, rows, y, j);
        for (; j < j1; j++) {
            for (int i = 0; i < rows; i++) y[i * out + j] = VectorOps.dot(x, i * in, w, offset + j * in, in);
        }
    }

    private void dot4(float[] x, int rows, float[] y, int j) {
        int k = in;
        int r0 = offset + j * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
        int bound = S.loopBound(k);
        for (int i = 0; i < rows; i++) {
            int xo = i * k;
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
            int kk = 0;
            for (; kk < bound; kk += L) {
                FloatVector xv = FloatVector.fromArray(S, x, xo + kk);
                a0 = xv.fma(FloatVector.fromArray(S, w, r0 + kk), a0);
                a1 = xv.fma(FloatVector.fromArray(S, w, r1 + kk), a1);
                a2 = xv.fma(FloatVector.fromArray(S, w, r2 + kk), a2);
                a3 = xv.fma(FloatVector.fromArray(S, w, r3 + kk), a3);
            }
            float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
            float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
            for (; kk < k; kk++) {
                float xv = x[xo + kk];
                s0 = Math.fma(xv, w[r0 + kk], s0);
                s1 = Math.fma(xv, w[r1 + kk], s1);
                s2 = Math.fma(xv, w[r2 + kk], s2);
                s3 = Math.fma(xv, w[r3 + kk], s3);
            }
            int yo = i * out + j;
            y[yo] = s0;
            y[yo + 1] = s1;
            y[yo + 2] = s2;
            y[yo + 3] = s3;
        }
    }
}
