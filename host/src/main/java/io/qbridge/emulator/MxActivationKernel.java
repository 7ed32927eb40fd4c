package io.qbridge.emulator;

import io.qbridge.compute.Parallel;

/**
 * The compute stage of one resident layer when activations arrive as MX-INT8 blocks of 32
 * ({@link MxActivationQuantizer}, docs/emulator.md §1b). A row of K splits into <em>pieces</em>: the
 * intersections of the weight blocks (16, 32, g, ...) with the activation blocks of 32, in column order.
 * For token r and output n:
 * <pre>
 *   acc_p   = sum_{c in piece p} w[c][n] * q[r][c]                      exact integer
 *   p_p     = (fp64(acc_p) * S[b][n]) * 2^(X[r][a] - 6)                 exact (b, a: the piece's weight and activation block)
 *             asymmetric INT: (fp64(fp64(acc_p) - z[b][n] * sumq_p) * s[b][n]) * 2^(X[r][a] - 6)
 *   sum     = ((p_0 + p_1) + p_2) + ...                                 fp64, in piece (column) order
 *   y[r][n] = Datapath.finish(sum, 1, bias[n])                          fp32(sum), then + bias in fp32
 * </pre>
 * The integer sums are computed in int32 when the layer's {@link DecodedWeights#accumulatorBound()} (a
 * bound on every block sum, hence on every piece sum) fits, else in int64. Plain loops over 4-token x
 * 128-output tiles, which C2 vectorises; this path is correct first and not tuned like the INT8 mode's
 * {@link Datapath}.
 */
public final class MxActivationKernel {
    /** Tokens per tile. */
    private static final int MR = 4;
    /** Outputs per tile. */
    private static final int NB = 128;

    private final DecodedWeights d;
    /** Pieces in column order: [start, end), weight block, activation block. */
    private final int[] start, end, wBlock, aBlock;
    private final int[] wi;
    private final long[] wl;

    public MxActivationKernel(DecodedWeights d) {
        this.d = d;
        int k = d.k(), bs = d.blockSize(), np = pieces(k, bs);
        start = new int[np];
        end = new int[np];
        wBlock = new int[np];
        aBlock = new int[np];
        int c = 0;
        for (int p = 0; p < np; p++) {
            int e = Math.min(k, Math.min((c / bs + 1) * bs, (c / MxActivationQuantizer.BLOCK + 1) * MxActivationQuantizer.BLOCK));
            start[p] = c;
            end[p] = e;
            wBlock[p] = c / bs;
            aBlock[p] = c / MxActivationQuantizer.BLOCK;
            c = e;
        }
        long[] v = d.values();
        if (d.accumulatorBound() <= Integer.MAX_VALUE) {
            wi = new int[v.length];
            for (int j = 0; j < v.length; j++) wi[j] = (int) v[j];
            wl = null;
        } else {
            wi = null;
            wl = v;
        }
    }

    /** Pieces of a row of {@code k} columns with weight blocks of {@code blockSize}: the cuts of both block grids. */
    public static int pieces(int k, int blockSize) {
        int np = 0;
        for (int c = 0; c < k; np++)
            c = Math.min(k, Math.min((c / blockSize + 1) * blockSize, (c / MxActivationQuantizer.BLOCK + 1) * MxActivationQuantizer.BLOCK));
        return np;
    }

    public DecodedWeights weights() {
        return d;
    }

    /** Pieces per row (the fp64 folds per output). */
    public int pieces() {
        return start.length;
    }

    /** True when the integer sums need 64 bits (the layer's accumulator bound exceeds 2^31 - 1). */
    public boolean wide() {
        return wl != null;
    }

    /** Bytes the host keeps resident for this layer. */
    public long residentBytes() {
        return (wl != null ? 8L : 4L) * d.values().length + 8L * d.scale().length * (d.zero() == null ? 1 : 2);
    }

    /**
     * {@code y[rows][N]} from MX-INT8 codes {@code q[rows][K]} and block exponents {@code exps[rows][blocks(K)]}
     * ({@link MxActivationQuantizer#quantize}).
     */
    public void compute(int[] q, int[] exps, float[] bias, int rows, float[] y) {
        int n = d.n(), k = d.k(), nba = MxActivationQuantizer.blocks(k);
        if (q.length < (long) rows * k || exps.length < (long) rows * nba)
            throw new IllegalArgumentException("activation buffers must hold " + rows + " rows of " + k + " codes and " + nba + " exponents");
        if (y.length < (long) rows * n) throw new IllegalArgumentException("y holds " + y.length + " values, " + rows + " rows of " + n + " need " + (long) rows * n);
        int panels = (rows + MR - 1) / MR;
        Parallel.forRange(panels, 1, (p0, p1) -> {
            int np = start.length;
            double[] out = new double[MR * NB];
            int[] acc = wi != null ? new int[MR * NB] : null;
            long[] accL = wi != null ? null : new long[MR * NB];
            int[] sumq = d.zero() != null ? new int[MR * np] : null;
            double[] step = new double[MR * np];
            for (int pan = p0; pan < p1; pan++) {
                int r0 = pan * MR, mr = Math.min(MR, rows - r0);
                for (int i = 0; i < mr; i++)
                    for (int p = 0; p < np; p++) {
                        step[i * np + p] = MxActivationQuantizer.step(exps[(r0 + i) * nba + aBlock[p]]);
                        if (sumq != null) {
                            int s = 0;
                            for (int c = start[p]; c < end[p]; c++) s += q[(r0 + i) * k + c];
                            sumq[i * np + p] = s;
                        }
                    }
                for (int n0 = 0; n0 < n; n0 += NB) {
                    int w = Math.min(NB, n - n0);
                    java.util.Arrays.fill(out, 0.0);
                    for (int p = 0; p < np; p++) {
                        if (acc != null) {
                            pieceInt(q, k, n, r0, mr, n0, w, start[p], end[p], acc);
                            fold(acc, null, out, mr, w, p, np, wBlock[p] * n + n0, step, sumq);
                        } else {
                            pieceLong(q, k, n, r0, mr, n0, w, start[p], end[p], accL);
                            fold(null, accL, out, mr, w, p, np, wBlock[p] * n + n0, step, sumq);
                        }
                    }
                    for (int i = 0; i < mr; i++)
                        for (int j = 0; j < w; j++)
                            y[(r0 + i) * n + n0 + j] = Datapath.finish(out[i * NB + j], 1f, bias == null ? 0f : bias[n0 + j], bias != null);
                }
            }
        });
    }

    /** acc[i][j] = sum_{c in [c0, c1)} w[c][n0 + j] * q[r0 + i][c], in int32 (no wrap: the accumulator bound fits). */
    private void pieceInt(int[] q, int k, int n, int r0, int mr, int n0, int w, int c0, int c1, int[] acc) {
        int[] wt = wi;
        java.util.Arrays.fill(acc, 0);
        for (int c = c0; c < c1; c++) {
            int wo = c * n + n0;
            for (int i = 0; i < mr; i++) {
                int qv = q[(r0 + i) * k + c], ao = i * NB;
                for (int j = 0; j < w; j++) acc[ao + j] += wt[wo + j] * qv;
            }
        }
    }

    /** As {@link #pieceInt} in int64. */
    private void pieceLong(int[] q, int k, int n, int r0, int mr, int n0, int w, int c0, int c1, long[] acc) {
        long[] wt = wl;
        java.util.Arrays.fill(acc, 0L);
        for (int c = c0; c < c1; c++) {
            int wo = c * n + n0;
            for (int i = 0; i < mr; i++) {
                long qv = q[(r0 + i) * k + c];
                int ao = i * NB;
                for (int j = 0; j < w; j++) acc[ao + j] += wt[wo + j] * qv;
            }
        }
    }

    /** out += (fp64(acc) * S) * 2^(X - 6) for one piece (asymmetric INT: the zero point first, as in §3). */
    private void fold(int[] acc, long[] accL, double[] out, int mr, int w, int p, int np, int so, double[] step, int[] sumq) {
        double[] scale = d.scale(), zero = d.zero();
        for (int i = 0; i < mr; i++) {
            double f = step[i * np + p];
            int ao = i * NB;
            if (zero == null) {
                if (acc != null) for (int j = 0; j < w; j++) out[ao + j] += ((double) acc[ao + j] * scale[so + j]) * f;
                else for (int j = 0; j < w; j++) out[ao + j] += ((double) accL[ao + j] * scale[so + j]) * f;
            } else {
                double sq = sumq[i * np + p];
                for (int j = 0; j < w; j++) {
                    double a = acc != null ? (double) acc[ao + j] : (double) accL[ao + j];
                    out[ao + j] += ((a - zero[so + j] * sq) * scale[so + j]) * f;
                }
            }
        }
    }
}
