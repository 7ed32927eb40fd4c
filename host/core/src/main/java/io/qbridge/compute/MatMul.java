package io.qbridge.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * FP32 matrix products, the only place the host multiplies matrices.
 *
 * <p>Two weight layouts, because the two kinds of callers want different ones:
 * <ul>
 *   <li>{@link #inOut}: weights {@code [K][N]} (ONNX MatMul's layout). Many activation rows at once (an
 *       encoder batch, a prompt): an outer-product micro-kernel that broadcasts one activation and runs
 *       FMAs down a row of weights, so no horizontal reductions are needed.</li>
 *   <li>{@link #outIn}: weights {@code [N][K]} (PyTorch/llama2.c layout). Few rows
 *       (token-by-token decoding): dot products along K, which stream each weight row once.</li>
 * </ul>
 * Both compute {@code y[m][n] = sum_k x[m][k] * w(k, n)} and split the work over {@link Parallel}.
 */
public final class MatMul {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Rows of x handled together by the {@link #inOut} micro-kernel. */
    private static final int MR = 6;
    /** Columns of y (in vectors) handled together by the {@link #inOut} micro-kernel. */
    private static final int NV = 4;
    /** K extent of one cache block in {@link #inOut}: the weight panel kc x (NV*L) stays in L1/L2. */
    private static final int KC = 256;

    private MatMul() {}

    /**
     * {@code y[m][N] = x[m][K] . wt[K][N]}, all row-major. {@code y} is overwritten.
     */
    public static void inOut(float[] x, int m, int k, float[] wt, int n, float[] y) {
        checkShapes(x.length, m, k, (long) wt.length, n, y.length);
        int rowBlocks = (m + MR - 1) / MR;
        int colStep = NV * L;
        int colBlocks = (n + colStep - 1) / colStep;
        // Split over whichever dimension has more independent tiles; both keep writes disjoint.
        if (rowBlocks >= colBlocks || rowBlocks >= 2 * Parallel.threads()) {
            Parallel.forRange(rowBlocks, 1, (rb0, rb1) -> inOutTile(x, k, wt, n, y, rb0 * MR, Math.min(m, rb1 * MR), 0, n));
        } else {
            Parallel.forRange(colBlocks, 1, (cb0, cb1) ->
                    inOutTile(x, k, wt, n, y, 0, m, cb0 * colStep, Math.min(n, cb1 * colStep)));
        }
    }

    private static void inOutTile(float[] x, int k, float[] wt, int n, float[] y, int m0, int m1, int n0, int n1) {
        for (int i = m0; i < m1; i++) java.util.Arrays.fill(y, i * n + n0, i * n + n1, 0f);
        int colStep = NV * L;
        for (int k0 = 0; k0 < k; k0 += KC) {
            int k1 = Math.min(k, k0 + KC);
            int j = n0;
            for (; j + colStep <= n1; j += colStep) {
                int i = m0;
                for (; i + MR <= m1; i += MR) kernel6x4(x, k, wt, n, y, i, j, k0, k1);
                for (; i < m1; i++) kernel1xV(x, k, wt, n, y, i, j, NV, k0, k1);
            }
            for (; j + L <= n1; j += L) {
                for (int i = m0; i < m1; i++) kernel1xV(x, k, wt, n, y, i, j, 1, k0, k1);
            }
            for (; j < n1; j++) {
                for (int i = m0; i < m1; i++) {
                    float acc = y[i * n + j];
                    for (int kk = k0; kk < k1; kk++) acc = Math.fma(x[i * k + kk], wt[kk * n + j], acc);
                    y[i * n + j] = acc;
                }
            }
        }
    }

    private static void kernel6x4(float[] x, int k, float[] wt, int n, float[] y, int i, int j, int k0, int k1) {
        int y0 = i * n + j, y1 = y0 + n, y2 = y1 + n, y3 = y2 + n, y4 = y3 + n, y5 = y4 + n;
        FloatVector c00 = FloatVector.fromArray(S, y, y0), c01 = FloatVector.fromArray(S, y, y0 + L), c02 = FloatVector.fromArray(S, y, y0 + 2 * L), c03 = FloatVector.fromArray(S, y, y0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(S, y, y1), c11 = FloatVector.fromArray(S, y, y1 + L), c12 = FloatVector.fromArray(S, y, y1 + 2 * L), c13 = FloatVector.fromArray(S, y, y1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(S, y, y2), c21 = FloatVector.fromArray(S, y, y2 + L), c22 = FloatVector.fromArray(S, y, y2 + 2 * L), c23 = FloatVector.fromArray(S, y, y2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(S, y, y3), c31 = FloatVector.fromArray(S, y, y3 + L), c32 = FloatVector.fromArray(S, y, y3 + 2 * L), c33 = FloatVector.fromArray(S, y, y3 + 3 * L);
        FloatVector c40 = FloatVector.fromArray(S, y, y4), c41 = FloatVector.fromArray(S, y, y4 + L), c42 = FloatVector.fromArray(S, y, y4 + 2 * L), c43 = FloatVector.fromArray(S, y, y4 + 3 * L);
        FloatVector c50 = FloatVector.fromArray(S, y, y5), c51 = FloatVector.fromArray(S, y, y5 + L), c52 = FloatVector.fromArray(S, y, y5 + 2 * L), c53 = FloatVector.fromArray(S, y, y5 + 3 * L);
        int x0 = i * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k, x4 = x3 + k, x5 = x4 + k;
        for (int kk = k0; kk < k1; kk++) {
            int w = kk * n + j;
            FloatVector b0 = FloatVector.fromArray(S, wt, w);
            FloatVector b1 = FloatVector.fromArray(S, wt, w + L);
            FloatVector b2 = FloatVector.fromArray(S, wt, w + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, wt, w + 3 * L);
            FloatVector a = FloatVector.broadcast(S, x[x0 + kk]);
            c00 = a.fma(b0, c00); c01 = a.fma(b1, c01); c02 = a.fma(b2, c02); c03 = a.fma(b3, c03);
            a = FloatVector.broadcast(S, x[x1 + kk]);
            c10 = a.fma(b0, c10); c11 = a.fma(b1, c11); c12 = a.fma(b2, c12); c13 = a.fma(b3, c13);
            a = FloatVector.broadcast(S, x[x2 + kk]);
            c20 = a.fma(b0, c20); c21 = a.fma(b1, c21); c22 = a.fma(b2, c22); c23 = a.fma(b3, c23);
            a = FloatVector.broadcast(S, x[x3 + kk]);
            c30 = a.fma(b0, c30); c31 = a.fma(b1, c31); c32 = a.fma(b2, c32); c33 = a.fma(b3, c33);
            a = FloatVector.broadcast(S, x[x4 + kk]);
            c40 = a.fma(b0, c40); c41 = a.fma(b1, c41); c42 = a.fma(b2, c42); c43 = a.fma(b3, c43);
            a = FloatVector.broadcast(S, x[x5 + kk]);
            c50 = a.fma(b0, c50); c51 = a.fma(b1, c51); c52 = a.fma(b2, c52); c53 = a.fma(b3, c53);
        }
        c00.intoArray(y, y0); c01.intoArray(y, y0 + L); c02.intoArray(y, y0 + 2 * L); c03.intoArray(y, y0 + 3 * L);
        c10.intoArray(y, y1); c11.intoArray(y, y1 + L); c12.intoArray(y, y1 + 2 * L); c13.intoArray(y, y1 + 3 * L);
        c20.intoArray(y, y2); c21.intoArray(y, y2 + L); c22.intoArray(y, y2 + 2 * L); c23.intoArray(y, y2 + 3 * L);
        c30.intoArray(y, y3); c31.intoArray(y, y3 + L); c32.intoArray(y, y3 + 2 * L); c33.intoArray(y, y3 + 3 * L);
        c40.intoArray(y, y4); c41.intoArray(y, y4 + L); c42.intoArray(y, y4 + 2 * L); c43.intoArray(y, y4 + 3 * L);
        c50.intoArray(y, y5); c51.intoArray(y, y5 + L); c52.intoArray(y, y5 + 2 * L); c53.intoArray(y, y5 + 3 * L);
    }

    private static void kernel1xV(float[] x, int k, float[] wt, int n, float[] y, int i, int j, int vectors, int k0, int k1) {
        for (int v = 0; v < vectors; v++) {
            int yo = i * n + j + v * L;
            FloatVector c = FloatVector.fromArray(S, y, yo);
            for (int kk = k0; kk < k1; kk++) {
                c = FloatVector.broadcast(S, x[i * k + kk]).fma(FloatVector.fromArray(S, wt, kk * n + j + v * L), c);
            }
            c.intoArray(y, yo);
        }
    }

    /**
     * {@code y[m][N] = x[m][K] . w[N][K]^T}, with the weight rows starting at {@code w[wOffset]}.
     * {@code y} is overwritten.
     */
    public static void outIn(float[] x, int m, int k, float[] w, int wOffset, int n, float[] y) {
        checkShapes(x.length, m, k, (long) w.length - wOffset, n, y.length);
        if (m <= SPIN_TEAM_MAX_ROWS) {
            // Decoding: one product takes microseconds, so hand quads of output rows to the spinning team
            // rather than waking fork-join workers (whose wake-up costs more than the second core gains).
            int octets = (n + 7) / 8;
            int grain = Math.max(1, SPIN_TEAM_MIN_CHUNK_WEIGHTS / (8 * k));
            SpinTeam.shared().forRange(octets, grain, (q0, q1) -> outInColumns(x, m, k, w, wOffset, n, y, q0 * 8, Math.min(n, q1 * 8)));
        } else {
            Parallel.forRange(n, 16, (n0, n1) -> outInColumns(x, m, k, w, wOffset, n, y, n0, n1));
        }
    }

    /** Up to this many activation rows go to the {@link SpinTeam}; more have enough work for fork-join. */
    private static final int SPIN_TEAM_MAX_ROWS = 8;
    /** Weights per team chunk at least, so a chunk outweighs the cost of handing it out. */
    private static final int SPIN_TEAM_MIN_CHUNK_WEIGHTS = 1 << 14;

    /**
     * Outputs [j0, j1) of every row. A few rows (decoding) read the weight rows one after another, each row's dot
     * products for every activation row while it is in L1: one sequential stream. Interleaving weight rows (eight at
     * a time, the same bits) kept more products in flight but read memory half as fast: one thread on a 65 MB matrix,
     * fastest of 49 at load 7, 14.7-15.6 GB/s with eight rows, 4 rows 13.5-14.6, 2 rows 11.7-12.1, one row 27.8-31.9
     * (BENCHMARKS.md §2b, third pass).
     */
    private static void outInColumns(float[] x, int m, int k, float[] w, int wOffset, int n, float[] y, int j0, int j1) {
        int j = j0;
        if (m > SPIN_TEAM_MAX_ROWS) { // many rows: interleaved weight rows, each row's bits those of the loop below
            for (; j + 8 <= j1; j += 8) dot8(x, m, k, w, wOffset, n, y, j);
            for (; j + 4 <= j1; j += 4) dot4(x, m, k, w, wOffset, n, y, j);
        }
        for (; j < j1; j++) {
            for (int i = 0; i < m; i++) y[i * n + j] = VectorOps.dot(x, i * k, w, wOffset + j * k, k);
        }
    }

    /**
     * Eight weight rows at once: each row's arithmetic is {@link #dot4}'s (one accumulator, {@link VectorOps#hsum},
     * a scalar FMA tail), so the same bits; eight streams in flight read memory faster than four (one thread on
     * a 65 MB matrix, min of 60 at load 22: 12.0-12.9 GB/s with four rows, 15.2-15.5 GB/s with eight).
     */
    private static void dot8(float[] x, int m, int k, float[] w, int wOffset, int n, float[] y, int j) {
        int r0 = wOffset + j * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k, r4 = r3 + k, r5 = r4 + k, r6 = r5 + k, r7 = r6 + k;
        int bound = S.loopBound(k);
        for (int i = 0; i < m; i++) {
            int xo = i * k;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            int kk = 0;
            for (; kk < bound; kk += L) {
                FloatVector xv = FloatVector.fromArray(S, x, xo + kk);
                a0 = xv.fma(FloatVector.fromArray(S, w, r0 + kk), a0);
                a1 = xv.fma(FloatVector.fromArray(S, w, r1 + kk), a1);
                a2 = xv.fma(FloatVector.fromArray(S, w, r2 + kk), a2);
                a3 = xv.fma(FloatVector.fromArray(S, w, r3 + kk), a3);
                a4 = xv.fma(FloatVector.fromArray(S, w, r4 + kk), a4);
                a5 = xv.fma(FloatVector.fromArray(S, w, r5 + kk), a5);
                a6 = xv.fma(FloatVector.fromArray(S, w, r6 + kk), a6);
                a7 = xv.fma(FloatVector.fromArray(S, w, r7 + kk), a7);
            }
            int yo = i * n + j;
            y[yo] = VectorOps.hsum(a0);
            y[yo + 1] = VectorOps.hsum(a1);
            y[yo + 2] = VectorOps.hsum(a2);
            y[yo + 3] = VectorOps.hsum(a3);
            y[yo + 4] = VectorOps.hsum(a4);
            y[yo + 5] = VectorOps.hsum(a5);
            y[yo + 6] = VectorOps.hsum(a6);
            y[yo + 7] = VectorOps.hsum(a7);
            for (int r = 0; r < 8 && kk < k; r++) {
                float acc = y[yo + r];
                int ro = r0 + r * k;
                for (int t = kk; t < k; t++) acc = Math.fma(x[xo + t], w[ro + t], acc);
                y[yo + r] = acc;
            }
        }
    }

    private static void dot4(float[] x, int m, int k, float[] w, int wOffset, int n, float[] y, int j) {
        int r0 = wOffset + j * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
        int bound = S.loopBound(k);
        for (int i = 0; i < m; i++) {
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
            float s0 = VectorOps.hsum(a0), s1 = VectorOps.hsum(a1), s2 = VectorOps.hsum(a2), s3 = VectorOps.hsum(a3);
            for (; kk < k; kk++) {
                float xv = x[xo + kk];
                s0 = Math.fma(xv, w[r0 + kk], s0);
                s1 = Math.fma(xv, w[r1 + kk], s1);
                s2 = Math.fma(xv, w[r2 + kk], s2);
                s3 = Math.fma(xv, w[r3 + kk], s3);
            }
            int yo = i * n + j;
            y[yo] = s0;
            y[yo + 1] = s1;
            y[yo + 2] = s2;
            y[yo + 3] = s3;
        }
    }

    private static void checkShapes(int xLen, int m, int k, long wLen, int n, int yLen) {
        if (m < 0 || k <= 0 || n <= 0) throw new IllegalArgumentException("bad matmul shape m=" + m + " k=" + k + " n=" + n);
        if ((long) m * k > xLen) throw new IllegalArgumentException("activations hold " + xLen + " floats, need " + m + "x" + k);
        if ((long) k * n > wLen) throw new IllegalArgumentException("weights hold " + wLen + " floats, need " + k + "x" + n);
        if ((long) m * n > yLen) throw new IllegalArgumentException("output holds " + yLen + " floats, need " + m + "x" + n);
    }
}
