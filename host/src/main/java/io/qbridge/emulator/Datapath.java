package io.qbridge.emulator;

import io.qbridge.compute.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The compute stage of one resident layer: exact integer block sums, one scale per block, fp64
 * accumulation across blocks in block order, then the activation scale, fp32 rounding and the bias.
 * For row r and output n (docs/emulator.md §3):
 * <pre>
 *   acc_b   = sum_{c in block b} w[c][n] * q[r][c]                    exact integer
 *   p_b     = fp64(acc_b) * scale[b][n]                               (asym: (acc_b - z[b][n] * sumq_b) * scale)
 *   sum     = (((p_0 + p_1) + p_2) + ...)                             fp64, block order
 *   y[r][n] = fp32( fp32(fp64(sum * s_x[r])) + bias[n] )
 * </pre>
 * How the host computes the exact integer {@code acc_b} is a speed choice, not a different arithmetic:
 * when the layer's worst-case partial sum ({@link DecodedWeights#accumulatorBound()}) is below 2^24 the
 * integers are held in fp32 and summed with FMAs, which is exact because every intermediate is an integer
 * of magnitude below 2^24; below 2^31 in int32 vectors; otherwise in int64. All three give the same
 * integers, so results are identical whatever the mode or the thread count.
 */
public final class Datapath {
    /** How the exact block sums are computed on the host. */
    public enum Mode { FP32_EXACT, INT32, INT64 }

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final int L = FS.length(); // == IS.length() == 2 * DS.length()
    private static final int DL = DS.length();
    private static final int MR = 4;

    private final DecodedWeights d;
    private final Mode mode;
    private final float[] wf;
    private final int[] wi;
    private final long[] wl;

    public Datapath(DecodedWeights d) {
        this.d = d;
        long bound = d.accumulatorBound();
        mode = bound < (1L << 24) ? Mode.FP32_EXACT : bound <= Integer.MAX_VALUE ? Mode.INT32 : Mode.INT64;
        long[] v = d.values();
        float[] f = null;
        int[] i = null;
        long[] l = null;
        switch (mode) {
            case FP32_EXACT -> { f = new float[v.length]; for (int j = 0; j < v.length; j++) f[j] = v[j]; }
            case INT32 -> { i = new int[v.length]; for (int j = 0; j < v.length; j++) i[j] = (int) v[j]; }
            case INT64 -> l = v;
        }
        wf = f;
        wi = i;
        wl = l;
    }

    public Mode mode() {
        return mode;
    }

    public DecodedWeights weights() {
        return d;
    }

    /** Bytes the host keeps resident for this layer. */
    public long residentBytes() {
        long w = mode == Mode.INT64 ? 8L : 4L;
        return w * d.values().length + 8L * d.scale().length * (d.zero() == null ? 1 : 2);
    }

    /**
     * The fp64 block-scaled sums {@code sums[rows][N]} from INT8 activations {@code q[rows][K]} (the
     * activation scale is applied later by {@link #dequantize}).
     */
    public void compute(int[] q, int rows, double[] y) {
        int n = d.n(), k = d.k(), nb = d.blocks(), bs = d.blockSize();
        int[] sums = null;
        if (d.zero() != null) {
            sums = new int[rows * nb];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < k; c++) sums[r * nb + c / bs] += q[r * k + c];
        }
        float[] qf = null;
        if (mode == Mode.FP32_EXACT) {
            qf = new float[rows * k];
            for (int j = 0; j < rows * k; j++) qf[j] = q[j];
        }
        int colTiles = n / L;
        final int[] sm = sums;
        final float[] qq = qf;
        if (mode != Mode.INT64 && colTiles > 0) {
            Parallel.forRange(colTiles, 1, (t0, t1) -> {
                double[] out = new double[MR * L];
                for (int t = t0; t < t1; t++) {
                    int n0 = t * L;
                    int r = 0;
                    for (; r + MR <= rows; r += MR) {
                        if (mode == Mode.FP32_EXACT) tileFp32(qq, sm, r, n0, out);
                        else tileInt32(q, sm, r, n0, out);
                        for (int i = 0; i < MR; i++) System.arraycopy(out, i * L, y, (r + i) * n + n0, L);
                    }
                    for (; r < rows; r++)
                        for (int j = n0; j < n0 + L; j++) y[r * n + j] = scalarSum(q, sm, r, j);
                }
            });
        }
        int from = mode == Mode.INT64 ? 0 : colTiles * L;
        if (from < n) {
            Parallel.forRange(rows, 1, (r0, r1) -> {
                for (int r = r0; r < r1; r++)
                    for (int j = from; j < n; j++) y[r * n + j] = scalarSum(q, sm, r, j);
            });
        }
    }

    /** Output stage for {@code sums[rows][n]}: the activation scale in fp64, one rounding to fp32, the fp32 bias. */
    public static void dequantize(double[] sums, float[] xs, int rows, int n, float[] bias, float[] y) {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) y[r * n + j] = finish(sums[r * n + j], xs[r], bias == null ? 0f : bias[j], bias != null);
    }

    /** The one output rule: fp32(fp64(sum * s_x)), then + bias in fp32. */
    public static float finish(double sum, float xs, float bias, boolean hasBias) {
        float v = (float) (sum * (double) xs);
        return hasBias ? v + bias : v;
    }

    /** The reference order of operations for one output, on exact long block sums. */
    private double scalarSum(int[] q, int[] sums, int r, int j) {
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        double[] scale = d.scale(), zero = d.zero();
        double acc = 0;
        for (int b = 0; b < nb; b++) {
            long s = 0;
            for (int c = b * bs, e = Math.min(k, c + bs); c < e; c++) s += weight(c * n + j) * q[r * k + c];
            acc += block(s, b * n + j, sums == null ? 0 : sums[r * nb + b], scale, zero);
        }
        return acc;
    }

    private long weight(int idx) {
        return switch (mode) {
            case FP32_EXACT -> (long) wf[idx];
            case INT32 -> wi[idx];
            case INT64 -> wl[idx];
        };
    }

    /** One block's partial: the block scale applied once to the exact block sum. */
    private static double block(long acc, int idx, int sumq, double[] scale, double[] zero) {
        double a = (double) acc;
        if (zero != null) a = a - zero[idx] * (double) sumq;
        return a * scale[idx];
    }

    private DoubleVector blockV(DoubleVector a, int idx, int sumq) {
        if (d.zero() != null) a = a.sub(DoubleVector.fromArray(DS, d.zero(), idx).mul((double) sumq));
        return a.mul(DoubleVector.fromArray(DS, d.scale(), idx));
    }

    private void tileFp32(float[] qf, int[] sums, int r0, int n0, double[] out) {
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        DoubleVector a00 = DoubleVector.zero(DS), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++) {
            FloatVector c0 = FloatVector.zero(FS), c1 = c0, c2 = c0, c3 = c0;
            for (int c = b * bs, e = Math.min(k, c + bs); c < e; c++) {
                FloatVector w = FloatVector.fromArray(FS, wf, c * n + n0);
                c0 = w.fma(FloatVector.broadcast(FS, qf[x0 + c]), c0);
                c1 = w.fma(FloatVector.broadcast(FS, qf[x1 + c]), c1);
                c2 = w.fma(FloatVector.broadcast(FS, qf[x2 + c]), c2);
                c3 = w.fma(FloatVector.broadcast(FS, qf[x3 + c]), c3);
            }
            int idx = b * n + n0;
            int s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            if (sums != null) { s0 = sums[r0 * nb + b]; s1 = sums[(r0 + 1) * nb + b]; s2 = sums[(r0 + 2) * nb + b]; s3 = sums[(r0 + 3) * nb + b]; }
            a00 = a00.add(blockV(lo(c0), idx, s0)); a01 = a01.add(blockV(hi(c0), idx + DL, s0));
            a10 = a10.add(blockV(lo(c1), idx, s1)); a11 = a11.add(blockV(hi(c1), idx + DL, s1));
            a20 = a20.add(blockV(lo(c2), idx, s2)); a21 = a21.add(blockV(hi(c2), idx + DL, s2));
            a30 = a30.add(blockV(lo(c3), idx, s3)); a31 = a31.add(blockV(hi(c3), idx + DL, s3));
        }
        store(out, a00, a01, a10, a11, a20, a21, a30, a31);
    }

    private void tileInt32(int[] q, int[] sums, int r0, int n0, double[] out) {
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        DoubleVector a00 = DoubleVector.zero(DS), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++) {
            IntVector c0 = IntVector.zero(IS), c1 = c0, c2 = c0, c3 = c0;
            for (int c = b * bs, e = Math.min(k, c + bs); c < e; c++) {
                IntVector w = IntVector.fromArray(IS, wi, c * n + n0);
                c0 = c0.add(w.mul(q[x0 + c]));
                c1 = c1.add(w.mul(q[x1 + c]));
                c2 = c2.add(w.mul(q[x2 + c]));
                c3 = c3.add(w.mul(q[x3 + c]));
            }
            int idx = b * n + n0;
            int s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            if (sums != null) { s0 = sums[r0 * nb + b]; s1 = sums[(r0 + 1) * nb + b]; s2 = sums[(r0 + 2) * nb + b]; s3 = sums[(r0 + 3) * nb + b]; }
            a00 = a00.add(blockV(lo(c0), idx, s0)); a01 = a01.add(blockV(hi(c0), idx + DL, s0));
            a10 = a10.add(blockV(lo(c1), idx, s1)); a11 = a11.add(blockV(hi(c1), idx + DL, s1));
            a20 = a20.add(blockV(lo(c2), idx, s2)); a21 = a21.add(blockV(hi(c2), idx + DL, s2));
            a30 = a30.add(blockV(lo(c3), idx, s3)); a31 = a31.add(blockV(hi(c3), idx + DL, s3));
        }
        store(out, a00, a01, a10, a11, a20, a21, a30, a31);
    }

    private static DoubleVector lo(FloatVector v) { return (DoubleVector) v.convertShape(VectorOperators.F2D, DS, 0); }
    private static DoubleVector hi(FloatVector v) { return (DoubleVector) v.convertShape(VectorOperators.F2D, DS, 1); }
    private static DoubleVector lo(IntVector v) { return (DoubleVector) v.convertShape(VectorOperators.I2D, DS, 0); }
    private static DoubleVector hi(IntVector v) { return (DoubleVector) v.convertShape(VectorOperators.I2D, DS, 1); }

    private static void store(double[] out, DoubleVector... a) {
        for (int i = 0; i < a.length; i++) a[i].intoArray(out, i * DL);
    }
}
