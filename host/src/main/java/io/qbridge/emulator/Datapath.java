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
    /** Output columns of one tile: two vectors. */
    private static final int NT = 2 * L;

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
     * {@code y[rows][N]} from INT8 activations {@code q[rows][K]} with per-token scales {@code xs}: the
     * block sums, then the output stage ({@link #finish}: activation scale, fp32, bias) fused into the
     * tile's write-back, as the hardware's output unit does it. {@code q} (and, for the fp32-exact mode,
     * the same codes as floats in {@code qf}) must hold {@link #paddedRows} rows, the extra ones zero:
     * a zero row adds exactly 0 to every sum, so tokens can be processed in whole tiles.
     */
    public void compute(int[] q, float[] qf, float[] xs, float[] bias, int rows, float[] y) {
        int n = d.n(), k = d.k(), nb = d.blocks(), bs = d.blockSize();
        int colTiles = mode == Mode.INT64 ? 0 : n / NT;
        int rowsP = paddedRows(rows);
        if (q.length < rowsP * k || (mode == Mode.FP32_EXACT && qf.length < rowsP * k))
            throw new IllegalArgumentException("activation buffers must hold " + rowsP + " rows (zero-padded to a whole tile)");
        int[] sums = null;
        if (d.zero() != null) {
            sums = new int[rowsP * nb];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < k; c++) sums[r * nb + c / bs] += q[r * k + c];
        }
        final int[] qp = q;
        final float[] qq = qf;
        final int[] sm = sums;
        if (colTiles > 0) {
            Parallel.forRange(colTiles, 1, (t0, t1) -> {
                double[] out = new double[MR * NT];
                for (int t = t0; t < t1; t++) {
                    int n0 = t * NT;
                    for (int r = 0; r < rowsP; r += MR) {
                        if (mode == Mode.FP32_EXACT) tileFp32(qq, sm, r, n0, out);
                        else tileInt32(qp, sm, r, n0, out);
                        for (int i = 0; i < MR && r + i < rows; i++) {
                            float s = xs[r + i];
                            int o = (r + i) * n + n0;
                            if (bias == null) for (int j = 0; j < NT; j++) y[o + j] = finish(out[i * NT + j], s, 0f, false);
                            else for (int j = 0; j < NT; j++) y[o + j] = finish(out[i * NT + j], s, bias[n0 + j], true);
                        }
                    }
                }
            });
        }
        int from = mode == Mode.INT64 ? 0 : colTiles * NT;
        if (from < n) {
            Parallel.forRange(rows, 1, (r0, r1) -> {
                for (int r = r0; r < r1; r++)
                    for (int j = from; j < n; j++) y[r * n + j] = finish(scalarSum(q, sm, r, j), xs[r], bias == null ? 0f : bias[j], bias != null);
            });
        }
    }

    /** Rows the activation buffers must hold: {@code rows} rounded up to a whole tile. */
    public static int paddedRows(int rows) {
        return (rows + MR - 1) / MR * MR;
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

    // The tile kernels are written out in full, without helper methods taking or returning vectors: C2
    // does not always inline such helpers, and a vector that crosses a call is boxed (measured: 5x slower).
    // A tile is 4 tokens x 32 outputs; the fp64 sums live in out[] (L1) and are touched once per block.
    private void tileFp32(float[] qf, int[] sums, int r0, int n0, double[] out) {
        float[] w = wf;
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        double[] scale = d.scale(), zero = d.zero();
        java.util.Arrays.fill(out, 0.0);
        int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++) {
            FloatVector c00 = FloatVector.zero(FS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int c = b * bs, e = Math.min(k, c + bs); c < e; c++) {
                int o = c * n + n0;
                FloatVector w0 = FloatVector.fromArray(FS, w, o), w1 = FloatVector.fromArray(FS, w, o + L);
                FloatVector b0 = FloatVector.broadcast(FS, qf[x0 + c]), b1 = FloatVector.broadcast(FS, qf[x1 + c]);
                FloatVector b2 = FloatVector.broadcast(FS, qf[x2 + c]), b3 = FloatVector.broadcast(FS, qf[x3 + c]);
                c00 = w0.fma(b0, c00); c01 = w1.fma(b0, c01);
                c10 = w0.fma(b1, c10); c11 = w1.fma(b1, c11);
                c20 = w0.fma(b2, c20); c21 = w1.fma(b2, c21);
                c30 = w0.fma(b3, c30); c31 = w1.fma(b3, c31);
            }
            int idx = b * n + n0;
            // the four scale vectors of this block, loaded once for the four tokens
            DoubleVector g0 = DoubleVector.fromArray(DS, scale, idx), g1 = DoubleVector.fromArray(DS, scale, idx + DL);
            DoubleVector g2 = DoubleVector.fromArray(DS, scale, idx + 2 * DL), g3 = DoubleVector.fromArray(DS, scale, idx + 3 * DL);
            double s0 = zero == null ? 0 : sums[(r0 + 0) * nb + b];
            double s1 = zero == null ? 0 : sums[(r0 + 1) * nb + b];
            double s2 = zero == null ? 0 : sums[(r0 + 2) * nb + b];
            double s3 = zero == null ? 0 : sums[(r0 + 3) * nb + b];
            DoubleVector p0 = (DoubleVector) c00.convertShape(VectorOperators.F2D, DS, 0);
            if (zero != null) p0 = p0.sub(DoubleVector.fromArray(DS, zero, idx + 0 * DL).mul(s0));
            DoubleVector.fromArray(DS, out, 0 * DL).add(p0.mul(g0)).intoArray(out, 0 * DL);
            DoubleVector p1 = (DoubleVector) c00.convertShape(VectorOperators.F2D, DS, 1);
            if (zero != null) p1 = p1.sub(DoubleVector.fromArray(DS, zero, idx + 1 * DL).mul(s0));
            DoubleVector.fromArray(DS, out, 1 * DL).add(p1.mul(g1)).intoArray(out, 1 * DL);
            DoubleVector p2 = (DoubleVector) c01.convertShape(VectorOperators.F2D, DS, 0);
            if (zero != null) p2 = p2.sub(DoubleVector.fromArray(DS, zero, idx + 2 * DL).mul(s0));
            DoubleVector.fromArray(DS, out, 2 * DL).add(p2.mul(g2)).intoArray(out, 2 * DL);
            DoubleVector p3 = (DoubleVector) c01.convertShape(VectorOperators.F2D, DS, 1);
            if (zero != null) p3 = p3.sub(DoubleVector.fromArray(DS, zero, idx + 3 * DL).mul(s0));
            DoubleVector.fromArray(DS, out, 3 * DL).add(p3.mul(g3)).intoArray(out, 3 * DL);
            DoubleVector p4 = (DoubleVector) c10.convertShape(VectorOperators.F2D, DS, 0);
            if (zero != null) p4 = p4.sub(DoubleVector.fromArray(DS, zero, idx + 0 * DL).mul(s1));
            DoubleVector.fromArray(DS, out, 4 * DL).add(p4.mul(g0)).intoArray(out, 4 * DL);
            DoubleVector p5 = (DoubleVector) c10.convertShape(VectorOperators.F2D, DS, 1);
            if (zero != null) p5 = p5.sub(DoubleVector.fromArray(DS, zero, idx + 1 * DL).mul(s1));
            DoubleVector.fromArray(DS, out, 5 * DL).add(p5.mul(g1)).intoArray(out, 5 * DL);
            DoubleVector p6 = (DoubleVector) c11.convertShape(VectorOperators.F2D, DS, 0);
            if (zero != null) p6 = p6.sub(DoubleVector.fromArray(DS, zero, idx + 2 * DL).mul(s1));
            DoubleVector.fromArray(DS, out, 6 * DL).add(p6.mul(g2)).intoArray(out, 6 * DL);
            DoubleVector p7 = (DoubleVector) c11.convertShape(VectorOperators.F2D, DS, 1);
            if (zero != null) p7 = p7.sub(DoubleVector.fromArray(DS, zero, idx + 3 * DL).mul(s1));
            DoubleVector.fromArray(DS, out, 7 * DL).add(p7.mul(g3)).intoArray(out, 7 * DL);
            DoubleVector p8 = (DoubleVector) c20.convertShape(VectorOperators.F2D, DS, 0);
            if (zero != null) p8 = p8.sub(DoubleVector.fromArray(DS, zero, idx + 0 * DL).mul(s2));
            DoubleVector.fromArray(DS, out, 8 * DL).add(p8.mul(g0)).intoArray(out, 8 * DL);
            DoubleVector p9 = (DoubleVector) c20.convertShape(VectorOperators.F2D, DS, 1);
            if (zero != null) p9 = p9.sub(DoubleVector.fromArray(DS, zero, idx + 1 * DL).mul(s2));
            DoubleVector.fromArray(DS, out, 9 * DL).add(p9.mul(g1)).intoArray(out, 9 * DL);
            DoubleVector p10 = (DoubleVector) c21.convertShape(VectorOperators.F2D, DS, 0);
            if (zero != null) p10 = p10.sub(DoubleVector.fromArray(DS, zero, idx + 2 * DL).mul(s2));
            DoubleVector.fromArray(DS, out, 10 * DL).add(p10.mul(g2)).intoArray(out, 10 * DL);
            DoubleVector p11 = (DoubleVector) c21.convertShape(VectorOperators.F2D, DS, 1);
            if (zero != null) p11 = p11.sub(DoubleVector.fromArray(DS, zero, idx + 3 * DL).mul(s2));
            DoubleVector.fromArray(DS, out, 11 * DL).add(p11.mul(g3)).intoArray(out, 11 * DL);
            DoubleVector p12 = (DoubleVector) c30.convertShape(VectorOperators.F2D, DS, 0);
            if (zero != null) p12 = p12.sub(DoubleVector.fromArray(DS, zero, idx + 0 * DL).mul(s3));
            DoubleVector.fromArray(DS, out, 12 * DL).add(p12.mul(g0)).intoArray(out, 12 * DL);
            DoubleVector p13 = (DoubleVector) c30.convertShape(VectorOperators.F2D, DS, 1);
            if (zero != null) p13 = p13.sub(DoubleVector.fromArray(DS, zero, idx + 1 * DL).mul(s3));
            DoubleVector.fromArray(DS, out, 13 * DL).add(p13.mul(g1)).intoArray(out, 13 * DL);
            DoubleVector p14 = (DoubleVector) c31.convertShape(VectorOperators.F2D, DS, 0);
            if (zero != null) p14 = p14.sub(DoubleVector.fromArray(DS, zero, idx + 2 * DL).mul(s3));
            DoubleVector.fromArray(DS, out, 14 * DL).add(p14.mul(g2)).intoArray(out, 14 * DL);
            DoubleVector p15 = (DoubleVector) c31.convertShape(VectorOperators.F2D, DS, 1);
            if (zero != null) p15 = p15.sub(DoubleVector.fromArray(DS, zero, idx + 3 * DL).mul(s3));
            DoubleVector.fromArray(DS, out, 15 * DL).add(p15.mul(g3)).intoArray(out, 15 * DL);
        }
    }

    private void tileInt32(int[] q, int[] sums, int r0, int n0, double[] out) {
        int[] w = wi;
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        double[] scale = d.scale(), zero = d.zero();
        java.util.Arrays.fill(out, 0.0);
        int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++) {
            IntVector c00 = IntVector.zero(IS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int c = b * bs, e = Math.min(k, c + bs); c < e; c++) {
                int o = c * n + n0;
                IntVector w0 = IntVector.fromArray(IS, w, o), w1 = IntVector.fromArray(IS, w, o + L);
                int b0 = q[x0 + c], b1 = q[x1 + c], b2 = q[x2 + c], b3 = q[x3 + c];
                c00 = c00.add(w0.mul(b0)); c01 = c01.add(w1.mul(b0));
                c10 = c10.add(w0.mul(b1)); c11 = c11.add(w1.mul(b1));
                c20 = c20.add(w0.mul(b2)); c21 = c21.add(w1.mul(b2));
                c30 = c30.add(w0.mul(b3)); c31 = c31.add(w1.mul(b3));
            }
            int idx = b * n + n0;
            // the four scale vectors of this block, loaded once for the four tokens
            DoubleVector g0 = DoubleVector.fromArray(DS, scale, idx), g1 = DoubleVector.fromArray(DS, scale, idx + DL);
            DoubleVector g2 = DoubleVector.fromArray(DS, scale, idx + 2 * DL), g3 = DoubleVector.fromArray(DS, scale, idx + 3 * DL);
            double s0 = zero == null ? 0 : sums[(r0 + 0) * nb + b];
            double s1 = zero == null ? 0 : sums[(r0 + 1) * nb + b];
            double s2 = zero == null ? 0 : sums[(r0 + 2) * nb + b];
            double s3 = zero == null ? 0 : sums[(r0 + 3) * nb + b];
            DoubleVector p0 = (DoubleVector) c00.convertShape(VectorOperators.I2D, DS, 0);
            if (zero != null) p0 = p0.sub(DoubleVector.fromArray(DS, zero, idx + 0 * DL).mul(s0));
            DoubleVector.fromArray(DS, out, 0 * DL).add(p0.mul(g0)).intoArray(out, 0 * DL);
            DoubleVector p1 = (DoubleVector) c00.convertShape(VectorOperators.I2D, DS, 1);
            if (zero != null) p1 = p1.sub(DoubleVector.fromArray(DS, zero, idx + 1 * DL).mul(s0));
            DoubleVector.fromArray(DS, out, 1 * DL).add(p1.mul(g1)).intoArray(out, 1 * DL);
            DoubleVector p2 = (DoubleVector) c01.convertShape(VectorOperators.I2D, DS, 0);
            if (zero != null) p2 = p2.sub(DoubleVector.fromArray(DS, zero, idx + 2 * DL).mul(s0));
            DoubleVector.fromArray(DS, out, 2 * DL).add(p2.mul(g2)).intoArray(out, 2 * DL);
            DoubleVector p3 = (DoubleVector) c01.convertShape(VectorOperators.I2D, DS, 1);
            if (zero != null) p3 = p3.sub(DoubleVector.fromArray(DS, zero, idx + 3 * DL).mul(s0));
            DoubleVector.fromArray(DS, out, 3 * DL).add(p3.mul(g3)).intoArray(out, 3 * DL);
            DoubleVector p4 = (DoubleVector) c10.convertShape(VectorOperators.I2D, DS, 0);
            if (zero != null) p4 = p4.sub(DoubleVector.fromArray(DS, zero, idx + 0 * DL).mul(s1));
            DoubleVector.fromArray(DS, out, 4 * DL).add(p4.mul(g0)).intoArray(out, 4 * DL);
            DoubleVector p5 = (DoubleVector) c10.convertShape(VectorOperators.I2D, DS, 1);
            if (zero != null) p5 = p5.sub(DoubleVector.fromArray(DS, zero, idx + 1 * DL).mul(s1));
            DoubleVector.fromArray(DS, out, 5 * DL).add(p5.mul(g1)).intoArray(out, 5 * DL);
            DoubleVector p6 = (DoubleVector) c11.convertShape(VectorOperators.I2D, DS, 0);
            if (zero != null) p6 = p6.sub(DoubleVector.fromArray(DS, zero, idx + 2 * DL).mul(s1));
            DoubleVector.fromArray(DS, out, 6 * DL).add(p6.mul(g2)).intoArray(out, 6 * DL);
            DoubleVector p7 = (DoubleVector) c11.convertShape(VectorOperators.I2D, DS, 1);
            if (zero != null) p7 = p7.sub(DoubleVector.fromArray(DS, zero, idx + 3 * DL).mul(s1));
            DoubleVector.fromArray(DS, out, 7 * DL).add(p7.mul(g3)).intoArray(out, 7 * DL);
            DoubleVector p8 = (DoubleVector) c20.convertShape(VectorOperators.I2D, DS, 0);
            if (zero != null) p8 = p8.sub(DoubleVector.fromArray(DS, zero, idx + 0 * DL).mul(s2));
            DoubleVector.fromArray(DS, out, 8 * DL).add(p8.mul(g0)).intoArray(out, 8 * DL);
            DoubleVector p9 = (DoubleVector) c20.convertShape(VectorOperators.I2D, DS, 1);
            if (zero != null) p9 = p9.sub(DoubleVector.fromArray(DS, zero, idx + 1 * DL).mul(s2));
            DoubleVector.fromArray(DS, out, 9 * DL).add(p9.mul(g1)).intoArray(out, 9 * DL);
            DoubleVector p10 = (DoubleVector) c21.convertShape(VectorOperators.I2D, DS, 0);
            if (zero != null) p10 = p10.sub(DoubleVector.fromArray(DS, zero, idx + 2 * DL).mul(s2));
            DoubleVector.fromArray(DS, out, 10 * DL).add(p10.mul(g2)).intoArray(out, 10 * DL);
            DoubleVector p11 = (DoubleVector) c21.convertShape(VectorOperators.I2D, DS, 1);
            if (zero != null) p11 = p11.sub(DoubleVector.fromArray(DS, zero, idx + 3 * DL).mul(s2));
            DoubleVector.fromArray(DS, out, 11 * DL).add(p11.mul(g3)).intoArray(out, 11 * DL);
            DoubleVector p12 = (DoubleVector) c30.convertShape(VectorOperators.I2D, DS, 0);
            if (zero != null) p12 = p12.sub(DoubleVector.fromArray(DS, zero, idx + 0 * DL).mul(s3));
            DoubleVector.fromArray(DS, out, 12 * DL).add(p12.mul(g0)).intoArray(out, 12 * DL);
            DoubleVector p13 = (DoubleVector) c30.convertShape(VectorOperators.I2D, DS, 1);
            if (zero != null) p13 = p13.sub(DoubleVector.fromArray(DS, zero, idx + 1 * DL).mul(s3));
            DoubleVector.fromArray(DS, out, 13 * DL).add(p13.mul(g1)).intoArray(out, 13 * DL);
            DoubleVector p14 = (DoubleVector) c31.convertShape(VectorOperators.I2D, DS, 0);
            if (zero != null) p14 = p14.sub(DoubleVector.fromArray(DS, zero, idx + 2 * DL).mul(s3));
            DoubleVector.fromArray(DS, out, 14 * DL).add(p14.mul(g2)).intoArray(out, 14 * DL);
            DoubleVector p15 = (DoubleVector) c31.convertShape(VectorOperators.I2D, DS, 1);
            if (zero != null) p15 = p15.sub(DoubleVector.fromArray(DS, zero, idx + 3 * DL).mul(s3));
            DoubleVector.fromArray(DS, out, 15 * DL).add(p15.mul(g3)).intoArray(out, 15 * DL);
        }
    }
}
