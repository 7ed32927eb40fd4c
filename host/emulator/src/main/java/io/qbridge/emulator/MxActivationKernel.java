package io.qbridge.emulator;

import io.qbridge.device.ActivationMode;
import io.qbridge.compute.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

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
 * bound on every block sum, hence on every piece sum) fits, else in int64. int32 layers run in 4-token x
 * two-int-vector tiles whose piece sums live in registers (the Vector API), folded in fp64 per piece; the
 * outputs past the last whole tile and int64 layers take plain loops. This path is correct first and not
 * tuned like the INT8 mode's {@link Datapath} (no 16-bit lanes, no merged folds).
 */
public final class MxActivationKernel {
    /** Tokens per tile. */
    private static final int TILE_ROWS = 4;
    /** Outputs per plain-loop tile. */
    private static final int PLAIN_TILE_COLUMNS = 128;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    /** Int lanes as many as a double vector has: the fold's I2D is then a same-length conversion. */
    private static final VectorSpecies<Integer> INTS_PER_DOUBLE_VECTOR = VectorSpecies.of(int.class, VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2));
    private static final int INT_LANES = INTS.length(), DOUBLE_LANES = DOUBLES.length();
    /** Outputs per vector tile: two int vectors. */
    private static final int TILE_COLUMNS = 2 * INT_LANES;

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
        return ActivationMode.mxPieces(k, blockSize);
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

    /** Rows the activation buffers must hold: {@code rows} rounded up to a whole tile of tokens. */
    public static int paddedRows(int rows) {
        return (rows + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS;
    }

    /**
     * {@code y[rows][N]} from MX-INT8 codes {@code q} and block exponents {@code exps}
     * ({@link MxActivationQuantizer#quantize}), both holding {@link #paddedRows} rows, the extra ones with
     * codes 0 (a zero row adds exactly 0, so tokens are processed in whole tiles).
     */
    public void compute(int[] q, int[] exps, float[] bias, int rows, float[] y) {
        int n = d.n(), k = d.k(), nba = MxActivationQuantizer.blocks(k), rowsP = paddedRows(rows);
        if (q.length < (long) rowsP * k || exps.length < (long) rowsP * nba)
            throw new IllegalArgumentException("activation buffers must hold " + rowsP + " rows (zero-padded to a whole tile) of " + k + " codes and " + nba + " exponents");
        if (y.length < (long) rows * n) throw new IllegalArgumentException("y holds " + y.length + " values, " + rows + " rows of " + n + " need " + (long) rows * n);
        int panels = rowsP / TILE_ROWS, np = start.length, vectorTo = wi != null ? n / TILE_COLUMNS * TILE_COLUMNS : 0;
        Parallel.forRange(panels, 1, (p0, p1) -> {
            double[] out = new double[TILE_ROWS * PLAIN_TILE_COLUMNS];
            int[] iacc = new int[TILE_ROWS * PLAIN_TILE_COLUMNS];
            long[] lacc = wi != null ? null : new long[TILE_ROWS * PLAIN_TILE_COLUMNS];
            int[] sumq = d.zero() != null ? new int[TILE_ROWS * np] : null;
            double[] step = new double[TILE_ROWS * np];
            for (int pan = p0; pan < p1; pan++) {
                int r0 = pan * TILE_ROWS, mr = Math.min(TILE_ROWS, rows - r0);
                for (int i = 0; i < TILE_ROWS; i++)
                    for (int p = 0; p < np; p++) {
                        step[i * np + p] = MxActivationQuantizer.step(exps[(r0 + i) * nba + aBlock[p]]);
                        if (sumq != null) {
                            int s = 0;
                            for (int c = start[p]; c < end[p]; c++) s += q[(r0 + i) * k + c];
                            sumq[i * np + p] = s;
                        }
                    }
                for (int n0 = 0; n0 < vectorTo; n0 += TILE_COLUMNS) {
                    tile(q, k, n, r0, n0, iacc, out, step, sumq);
                    for (int i = 0; i < mr; i++) Datapath.finishRow(out, i * TILE_COLUMNS, TILE_COLUMNS, 1f, bias, n0, y, (r0 + i) * n + n0);
                }
                for (int n0 = vectorTo; n0 < n; n0 += PLAIN_TILE_COLUMNS) {
                    int w = Math.min(PLAIN_TILE_COLUMNS, n - n0);
                    java.util.Arrays.fill(out, 0.0);
                    for (int p = 0; p < np; p++) {
                        if (lacc == null) {
                            pieceInt(q, k, n, r0, mr, n0, w, start[p], end[p], iacc);
                            fold(iacc, null, out, mr, w, p, np, wBlock[p] * n + n0, step, sumq);
                        } else {
                            pieceLong(q, k, n, r0, mr, n0, w, start[p], end[p], lacc);
                            fold(null, lacc, out, mr, w, p, np, wBlock[p] * n + n0, step, sumq);
                        }
                    }
                    for (int i = 0; i < mr; i++)
                        for (int j = 0; j < w; j++)
                            y[(r0 + i) * n + n0 + j] = Datapath.finish(out[i * PLAIN_TILE_COLUMNS + j], 1f, bias == null ? 0f : bias[n0 + j], bias != null);
                }
            }
        });
    }

    /**
     * One 4-token x TILE_COLUMNS-output tile: per piece, the exact int32 sums in eight vector registers (written out
     * in full: a vector passed to a helper C2 does not inline is boxed), stored to {@code iacc}, then folded
     * into {@code out[TILE_ROWS][TILE_COLUMNS]} as (fp64(acc) * S) * 2^(X - 6) (asymmetric INT: zero point first).
     */
    private void tile(int[] q, int k, int n, int r0, int n0, int[] iacc, double[] out, double[] step, int[] sumq) {
        int[] w = wi;
        int np = start.length;
        double[] scale = d.scale(), zero = d.zero();
        java.util.Arrays.fill(out, 0, TILE_ROWS * TILE_COLUMNS, 0.0);
        int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int p = 0; p < np; p++) {
            IntVector c00 = IntVector.zero(INTS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int c = start[p], e = end[p]; c < e; c++) {
                int o = c * n + n0;
                IntVector w0 = IntVector.fromArray(INTS, w, o), w1 = IntVector.fromArray(INTS, w, o + INT_LANES);
                int b0 = q[x0 + c], b1 = q[x1 + c], b2 = q[x2 + c], b3 = q[x3 + c];
                c00 = c00.add(w0.mul(b0)); c01 = c01.add(w1.mul(b0));
                c10 = c10.add(w0.mul(b1)); c11 = c11.add(w1.mul(b1));
                c20 = c20.add(w0.mul(b2)); c21 = c21.add(w1.mul(b2));
                c30 = c30.add(w0.mul(b3)); c31 = c31.add(w1.mul(b3));
            }
            c00.intoArray(iacc, 0); c01.intoArray(iacc, INT_LANES);
            c10.intoArray(iacc, TILE_COLUMNS); c11.intoArray(iacc, TILE_COLUMNS + INT_LANES);
            c20.intoArray(iacc, 2 * TILE_COLUMNS); c21.intoArray(iacc, 2 * TILE_COLUMNS + INT_LANES);
            c30.intoArray(iacc, 3 * TILE_COLUMNS); c31.intoArray(iacc, 3 * TILE_COLUMNS + INT_LANES);
            int so = wBlock[p] * n + n0;
            for (int i = 0; i < TILE_ROWS; i++) {
                double f = step[i * np + p];
                double sq = zero == null ? 0 : sumq[i * np + p];
                for (int j = 0; j < TILE_COLUMNS; j += DOUBLE_LANES) {
                    int o = i * TILE_COLUMNS + j;
                    DoubleVector a = (DoubleVector) IntVector.fromArray(INTS_PER_DOUBLE_VECTOR, iacc, o).convertShape(VectorOperators.I2D, DOUBLES, 0);
                    if (zero != null) a = a.sub(DoubleVector.fromArray(DOUBLES, zero, so + j).mul(sq));
                    DoubleVector.fromArray(DOUBLES, out, o).add(a.mul(DoubleVector.fromArray(DOUBLES, scale, so + j)).mul(f)).intoArray(out, o);
                }
            }
        }
    }

    /** acc[i][j] = sum_{c in [c0, c1)} w[c][n0 + j] * q[r0 + i][c], in int32 (no wrap: the accumulator bound fits). */
    private void pieceInt(int[] q, int k, int n, int r0, int mr, int n0, int w, int c0, int c1, int[] acc) {
        int[] wt = wi;
        java.util.Arrays.fill(acc, 0);
        for (int c = c0; c < c1; c++) {
            int wo = c * n + n0;
            for (int i = 0; i < mr; i++) {
                int qv = q[(r0 + i) * k + c], ao = i * PLAIN_TILE_COLUMNS;
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
                int ao = i * PLAIN_TILE_COLUMNS;
                for (int j = 0; j < w; j++) acc[ao + j] += wt[wo + j] * qv;
            }
        }
    }

    /** out += (fp64(acc) * S) * 2^(X - 6) for one piece (asymmetric INT: the zero point first, as in §3). */
    private void fold(int[] acc, long[] accL, double[] out, int mr, int w, int p, int np, int so, double[] step, int[] sumq) {
        double[] scale = d.scale(), zero = d.zero();
        for (int i = 0; i < mr; i++) {
            double f = step[i * np + p];
            int ao = i * PLAIN_TILE_COLUMNS;
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
