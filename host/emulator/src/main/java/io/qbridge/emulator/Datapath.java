package io.qbridge.emulator;

import io.qbridge.compute.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
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
 * How the host computes the exact integer {@code acc_b} is a speed choice, not a different arithmetic.
 * First choice ({@link Mode#INT16}, see {@link Int16Plan}): 16-bit lanes over chunks proven to fit, widened
 * into 32-bit sums (for power-of-two scales, several blocks shifted onto one grid when the fp64 row sum is
 * provably exact, so one fold replaces several, and 16-bit chunks may then span blocks). Otherwise: when the layer's worst-case partial sum
 * ({@link DecodedWeights#accumulatorBound()}) is below 2^24 the integers are held in fp32 and summed with
 * FMAs, which is exact because every intermediate is an integer of magnitude below 2^24; below 2^31 in
 * int32 vectors; otherwise in int64. All give the same integers and the same fp64 sums, so results are
 * identical whatever the mode or the thread count.
 */
public final class Datapath {
    /** How the exact block sums are computed on the host. */
    public enum Mode { INT16, FP32_EXACT, INT32, INT64 }

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    private static final int FLOAT_LANES = FLOATS.length(); // == INTS.length() == 2 * DOUBLES.length()
    private static final int DOUBLE_LANES = DOUBLES.length();
    /** Tokens of one FP32-exact or INT32 tile. */
    private static final int TILE_ROWS = 4;
    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_PREFERRED;
    /** Int lanes as many as a double vector has: the fold's I2D is then a same-length conversion. */
    private static final VectorSpecies<Integer> INTS_PER_DOUBLE_VECTOR = VectorSpecies.of(int.class, jdk.incubator.vector.VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2));
    private static final int SHORT_LANES = SHORTS.length(); // == 2 * FLOAT_LANES
    /** Floats as many as a double vector has. */
    private static final VectorSpecies<Float> FLOATS_PER_DOUBLE_VECTOR = VectorSpecies.of(float.class, jdk.incubator.vector.VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2));
    /** Rows of one INT16 tile. */
    private static final int INT16_TILE_ROWS = 6;
    /** Outputs of the wide INT16 tile ({@link #kernel6x4}): four short vectors. */
    private static final int WIDE_TILE = 4 * SHORT_LANES;
    /** Output columns of one FP32-exact or INT32 tile: two vectors. */
    private static final int TILE_COLUMNS = 2 * FLOAT_LANES;

    /** The layer's shape and scales; its integers ({@code values}) are null when the plan came from a {@link PlanCache}. */
    private final DecodedWeights d;
    /** The whole decoded layer: {@code d}, or decoded when first asked for (a cached plan's layer, see {@link #weights}). */
    private final Lazy<DecodedWeights> full;
    private final Mode mode;
    private final float[] wf;
    private final int[] wi;
    private final long[] wl;
    private final Int16Plan plan;

    public Datapath(DecodedWeights d) {
        this(d, Int16Plan.of(d), null);
    }

    /**
     * The INT16 datapath of a layer whose plan was kept ({@link PlanCache}): {@code header} is its decode without the
     * integers, which {@code decode} gives when something needs them (the scalar column tail, {@link #weights}).
     */
    static Datapath planned(DecodedWeights header, Int16Plan plan, java.util.function.Supplier<DecodedWeights> decode) {
        if (plan == null) throw new IllegalArgumentException("a cached layer needs its plan");
        return new Datapath(header, plan, decode);
    }

    private Datapath(DecodedWeights d, Int16Plan plan, java.util.function.Supplier<DecodedWeights> decode) {
        this.d = d;
        this.full = new Lazy<>(decode == null ? () -> d : decode);
        long bound = d.accumulatorBound();
        this.plan = plan;
        mode = plan != null ? Mode.INT16 : bound < (1L << 24) ? Mode.FP32_EXACT : bound <= Integer.MAX_VALUE ? Mode.INT32 : Mode.INT64;
        long[] v = mode == Mode.INT16 ? null : d.values();
        float[] f = null;
        int[] i = null;
        long[] l = null;
        switch (mode) {
            case INT16 -> { }
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

    /** The decoded layer (decoded now if its plan was read from a {@link PlanCache}). */
    public DecodedWeights weights() {
        return full.get();
    }

    /** What the performance model needs of this layer, whose packed image is {@code packedBytes} long. */
    io.qbridge.device.PerformanceModel.LayerProfile profile(long packedBytes) {
        return d.profile(packedBytes);
    }

    /** Bytes the host keeps resident for this layer. */
    public long residentBytes() {
        long w = mode == Mode.INT64 ? 8L : mode == Mode.INT16 ? 2L : 4L;
        long extra = plan == null ? 0 : 8L * plan.groupScale().length + (plan.shifts() == null ? 0 : 4L * plan.shifts().length);
        return w * d.n() * d.k() + 8L * d.scale().length * (d.zero() == null ? 1 : 2) + extra;
    }

    /** The INT16 kernel's plan (null in the other modes): chunk length and blocks merged per group. */
    Int16Plan plan() {
        return plan;
    }

    /**
     * {@code y[rows][N]} from INT8 activations {@code q[rows][K]} with per-token scales {@code xs}: the
     * block sums, then the output stage ({@link #finish}: activation scale, fp32, bias) fused into the
     * tile's write-back, as the hardware's output unit does it. {@code q} (and, for the fp32-exact mode,
     * the same codes as floats in {@code qf}) must hold {@link #paddedRows} rows, the extra ones zero:
     * a zero row adds exactly 0 to every sum, so tokens can be processed in whole tiles.
     */
    public void compute(int[] q, float[] qf, float[] xs, float[] bias, int rows, float[] y) {
        compute(q, qf, null, xs, bias, rows, y);
    }

    /**
     * As {@link #compute(int[], float[], float[], float[], int, float[])}, with the same codes as 16-bit
     * values in {@code qs} for the {@link Mode#INT16} kernel (derived from {@code q} when null; in that mode
     * {@code q} is not read when {@code qs} is given).
     */
    public void compute(int[] q, float[] qf, short[] qs, float[] xs, float[] bias, int rows, float[] y) {
        if (mode == Mode.INT16) {
            int rowsP = paddedRows(rows), k = d.k();
            if (qs == null) {
                if (q.length < rowsP * k) throw new IllegalArgumentException("activation buffers must hold " + rowsP + " rows (zero-padded to a whole tile)");
                qs = new short[rowsP * k];
                for (int i = 0; i < rowsP * k; i++) qs[i] = (short) q[i];
            } else if (qs.length < rowsP * k) throw new IllegalArgumentException("activation buffers must hold " + rowsP + " rows (zero-padded to a whole tile)");
            computeInt16(qs, xs, bias, rows, y);
            return;
        }
        int n = d.n(), k = d.k(), nb = d.blocks(), bs = d.blockSize();
        int colTiles = mode == Mode.INT64 ? 0 : n / TILE_COLUMNS;
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
                double[] out = new double[TILE_ROWS * TILE_COLUMNS];
                int[] blockSums = new int[TILE_ROWS * TILE_COLUMNS];
                for (int t = t0; t < t1; t++) {
                    int n0 = t * TILE_COLUMNS;
                    for (int r = 0; r < rowsP; r += TILE_ROWS) {
                        if (mode == Mode.FP32_EXACT) tileFp32(qq, sm, r, n0, blockSums, out);
                        else tileInt32(qp, sm, r, n0, blockSums, out);
                        // one exit, at the panel's token count: see finishTile
                        for (int i = 0, m = Math.min(TILE_ROWS, rows - r); i < m; i++) finishRow(out, i * TILE_COLUMNS, TILE_COLUMNS, xs[r + i], bias, n0, y, (r + i) * n + n0);
                    }
                }
            });
        }
        int from = mode == Mode.INT64 ? 0 : colTiles * TILE_COLUMNS;
        if (from < n) {
            Parallel.forRange(rows, 1, (r0, r1) -> {
                for (int r = r0; r < r1; r++)
                    for (int j = from; j < n; j++) y[r * n + j] = finish(scalarSum(q, sm, r, j), xs[r], bias == null ? 0f : bias[j], bias != null);
            });
        }
    }

    /** Rows the activation buffers must hold: {@code rows} rounded up to a whole tile (4 and 6 rows). */
    public static int paddedRows(int rows) {
        return (rows + ROW_PADDING - 1) / ROW_PADDING * ROW_PADDING;
    }

    /** Activation buffers hold a multiple of this many rows: whole tiles of both kinds (4 and 6 rows). */
    private static final int ROW_PADDING = 12;

    /** The one output rule: fp32(fp64(sum * s_x)), then + bias in fp32. */
    public static float finish(double sum, float xs, float bias, boolean hasBias) {
        float v = (float) (sum * (double) xs);
        return hasBias ? v + bias : v;
    }

    /** The reference order of operations for one output, on exact long block sums. */
    private double scalarSum(int[] q, int[] sums, int r, int j) {
        return scalarSum(q, null, sums, r, j);
    }

    /** As above, reading the codes from {@code qs} when {@code q} is null. */
    private double scalarSum(int[] q, short[] qs, int[] sums, int r, int j) {
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        double[] scale = d.scale(), zero = d.zero();
        double acc = 0;
        for (int b = 0; b < nb; b++) {
            long s = 0;
            for (int c = b * bs, e = Math.min(k, c + bs); c < e; c++) s += weight(c * n + j) * (q != null ? q[r * k + c] : qs[r * k + c]);
            acc += block(s, b * n + j, sums == null ? 0 : sums[r * nb + b], scale, zero);
        }
        return acc;
    }

    private long weight(int idx) {
        return switch (mode) {
            case INT16 -> full.get().values()[idx];
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

    // ---- INT16 mode (Int16Plan): 6 tokens x 4 short vectors (128 outputs with 512-bit vectors) ----

    /** True when {@link #computeInt16From} can quantize the activations itself, panel by panel (INT16 mode without zero points). */
    boolean quantizesPerPanel() {
        return mode == Mode.INT16 && d.zero() == null;
    }

    /**
     * The INT16 kernel on fp32 activations {@code x[rows][k]}: each thread quantizes its own token panels
     * ({@link ActivationQuantizer#quantizeRows}, the same rule and codes as the separate pass) into {@code qs}
     * and {@code xs} right before their tiles read them, so the codes are still in cache and the layer needs one
     * parallel section instead of two. {@code qs} must hold {@link #paddedRows} rows (the pad rows are zeroed here).
     */
    void computeInt16From(float[] x, short[] qs, float[] xs, float[] bias, int rows, float[] y) {
        if (!quantizesPerPanel()) throw new IllegalStateException("per-panel quantization needs the INT16 mode without zero points (mode " + mode + ")");
        computeInt16(x, qs, xs, bias, rows, y);
    }

    private void computeInt16(short[] qs, float[] xs, float[] bias, int rows, float[] y) {
        computeInt16(null, qs, xs, bias, rows, y);
    }

    /** With {@code xf} non-null, each panel is quantized from it first (see {@link #computeInt16From}). */
    private void computeInt16(float[] xf, short[] qs, float[] xs, float[] bias, int rows, float[] y) {
        int n = d.n(), k = d.k(), nb = d.blocks(), bs = d.blockSize();
        int[] sums = null;
        if (d.zero() != null) {
            sums = new int[paddedRows(rows) * nb];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < k; c++) sums[r * nb + c / bs] += qs[r * k + c];
        }
        final int[] sm = sums;
        int wide = n / WIDE_TILE, narrowFrom = wide * WIDE_TILE, narrow = (n - narrowFrom) / SHORT_LANES, scalarFrom = narrowFrom + narrow * SHORT_LANES;
        int panels = (rows + INT16_TILE_ROWS - 1) / INT16_TILE_ROWS;
        final short[] x = qs;
        int rowsP = paddedRows(rows);
        Parallel.forRange(panels, 1, (p0, p1) -> {
            if (xf != null) {
                int r1 = Math.min(rows, p1 * INT16_TILE_ROWS);
                ActivationQuantizer.quantizeRows(xf, k, p0 * INT16_TILE_ROWS, r1, null, null, x, xs);
                java.util.Arrays.fill(x, r1 * k, Math.min(rowsP, p1 * INT16_TILE_ROWS) * k, (short) 0);
            }
            short[] sacc = new short[INT16_TILE_ROWS * WIDE_TILE];
            int[] iacc = new int[INT16_TILE_ROWS * WIDE_TILE];
            double[] out = new double[INT16_TILE_ROWS * WIDE_TILE];
            for (int t = 0; t < wide; t++)
                for (int p = p0; p < p1; p++) {
                    tile16(x, sm, p * INT16_TILE_ROWS, t * WIDE_TILE, 4, rows, xs, bias, y, sacc, iacc, out);
                    finishTile(out, p * INT16_TILE_ROWS, t * WIDE_TILE, WIDE_TILE, rows, n, xs, bias, y);
                }
            for (int t = 0; t < narrow; t++)
                for (int p = p0; p < p1; p++) {
                    tile16(x, sm, p * INT16_TILE_ROWS, narrowFrom + t * SHORT_LANES, 1, rows, xs, bias, y, sacc, iacc, out);
                    finishTile(out, p * INT16_TILE_ROWS, narrowFrom + t * SHORT_LANES, SHORT_LANES, rows, n, xs, bias, y);
                }
            for (int r = p0 * INT16_TILE_ROWS, re = Math.min(rows, p1 * INT16_TILE_ROWS); r < re; r++)
                for (int j = scalarFrom; j < n; j++) y[r * n + j] = finish(scalarSum(null, x, sm, r, j), xs[r], bias == null ? 0f : bias[j], bias != null);
        });
    }

    /** One tile: chunk sums in 16-bit lanes, widened (and shifted) into 32-bit group sums, folded per group in fp64 into {@code out}. */
    private void tile16(short[] x, int[] sums, int r0, int n0, int nv, int rows, float[] xs, float[] bias, float[] y,
                        short[] sacc, int[] iacc, double[] out) {
        Int16Plan pl = plan;
        int n = d.n(), k = d.k(), nb = d.blocks(), bs = d.blockSize(), width = nv * SHORT_LANES, cells = INT16_TILE_ROWS * width;
        int group = pl.group(), chunk = pl.chunk(), unit = pl.unit();
        for (int g = 0, ng = pl.groups(nb); g < ng; g++) {
            java.util.Arrays.fill(iacc, 0, cells, 0);
            // units (blocks, or chunks spanning blocks) of the group; each unit's chunk sums share one shift row.
            // A wide tile's chunks are all summed and widened inside kernel6x4 (see there why); the narrow tile's here.
            // The group's side list is added after them (integer adds into the same group sums: any order).
            int g0 = g * group * bs, g1 = Math.min(k, g0 + group * bs);
            if (nv == 4) kernel6x4(x, k, pl.w(), n, r0, n0, g0, g1, unit, chunk, sacc, iacc, pl.shifts());
            else {
                for (int u0 = g0; u0 < g1; u0 += unit)
                    for (int c0 = u0, ce = Math.min(g1, u0 + unit); c0 < ce; c0 += chunk) {
                        kernel6x1(x, k, pl.w(), r0, n0, c0, Math.min(ce, c0 + chunk), sacc);
                        widen(sacc, iacc, width, pl.shifts(), u0 / unit * n + n0);
                    }
            }
            if (pl.sparse() != null) addSparse(pl.sparse(), x, k, n, r0, n0, nv, width, g, unit, pl.shifts(), iacc);
            fold(iacc, out, INT16_TILE_ROWS, width, pl.groupScale(), g * n + n0, d.zero(), sums, r0, g, nb);
        }
    }

    /**
     * The output stage of one tile's sums ({@link #finishRow} per token). Called from the thread's tile loop rather
     * than from {@link #tile16}: inlined into tile16, C2 compiled it slower (the same effect as the widening's, see
     * {@link #kernel6x4}).
     *
     * <p>The row loop has one exit, at the panel's token count. Written {@code i < 6 && r0 + i < rows}, C2 guarded the
     * second test by a loop predicate built from the warm-up probe's whole panels, and every partial panel (the last
     * of nearly every batch) failed it: this method was deoptimized again and again, and in processes made to compile
     * early it was then left in C1's code, where the Vector API is not compiled, for the rest of the run (4-5x slower
     * to its end; BENCHMARKS.md §1b, twelfth pass). The FP32/INT32 tiles' loop likewise.
     */
    private static void finishTile(double[] out, int r0, int n0, int width, int rows, int n, float[] xs, float[] bias, float[] y) {
        for (int i = 0, m = Math.min(INT16_TILE_ROWS, rows - r0); i < m; i++) finishRow(out, i * width, width, xs[r0 + i], bias, n0, y, (r0 + i) * n + n0);
    }

    /**
     * {@link #finish} over {@code len} consecutive sums, DOUBLE_LANES lanes at a time (the same operations: fp64 product,
     * one rounding to fp32, fp32 bias add), scalar for the tail.
     */
    static void finishRow(double[] sums, int off, int len, float xs, float[] bias, int biasOff, float[] y, int yOff) {
        double s = xs;
        int j = 0;
        for (; j + DOUBLE_LANES <= len; j += DOUBLE_LANES) {
            FloatVector v = (FloatVector) DoubleVector.fromArray(DOUBLES, sums, off + j).mul(s).convertShape(VectorOperators.D2F, FLOATS_PER_DOUBLE_VECTOR, 0);
            if (bias != null) v = v.add(FloatVector.fromArray(FLOATS_PER_DOUBLE_VECTOR, bias, biasOff + j));
            v.intoArray(y, yOff + j);
        }
        for (; j < len; j++) y[yOff + j] = finish(sums[off + j], xs, bias == null ? 0f : bias[biasOff + j], bias != null);
    }

    /**
     * The 32-bit group sums of 6 tokens x 4 short vectors over the group's columns [g0, g1): per 16-bit chunk (the
     * units of the group, each cut into chunks as in {@link #tile16}), the chunk sums in 24 short-vector registers,
     * stored in sacc[i * 4 SHORT_LANES + v SHORT_LANES + lane], then widened (shifted onto the group's grid) into {@code iacc}. The
     * chunk loop and the widening are in here rather than in {@link #tile16} on purpose: this method is too large for
     * C2 to inline, so both are compiled with the kernel and never inlined into tile16, where C2 compiled the
     * widening several times slower (measured on bge-small, one thread: MicroScopiQ and MX-FP4 layers 28-30 %
     * faster as a whole with the widening here; 10-15 % more for every INT16 format with the chunk loop here too).
     */
    private static void kernel6x4(short[] x, int k, short[] w, int n, int r0, int n0, int g0, int g1, int unit, int chunk, short[] sacc, int[] iacc, int[] shifts) {
        for (int u0 = g0; u0 < g1; u0 += unit) {
            int so = u0 / unit * n + n0;
            for (int c0 = u0, ce = Math.min(g1, u0 + unit); c0 < ce; c0 += chunk) {
                int c1 = Math.min(ce, c0 + chunk);
                ShortVector c00 = ShortVector.zero(SHORTS), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
                ShortVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
                ShortVector c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
                int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k, x4 = x3 + k, x5 = x4 + k, wt = Int16Plan.index(k, 0, n0);
                for (int c = c0; c < c1; c++) {
                    int o = wt + c * Int16Plan.TILE;
                    ShortVector b0 = ShortVector.fromArray(SHORTS, w, o), b1 = ShortVector.fromArray(SHORTS, w, o + SHORT_LANES);
                    ShortVector b2 = ShortVector.fromArray(SHORTS, w, o + 2 * SHORT_LANES), b3 = ShortVector.fromArray(SHORTS, w, o + 3 * SHORT_LANES);
                    ShortVector a = ShortVector.broadcast(SHORTS, x[x0 + c]);
                    c00 = c00.add(b0.mul(a)); c01 = c01.add(b1.mul(a)); c02 = c02.add(b2.mul(a)); c03 = c03.add(b3.mul(a));
                    a = ShortVector.broadcast(SHORTS, x[x1 + c]);
                    c10 = c10.add(b0.mul(a)); c11 = c11.add(b1.mul(a)); c12 = c12.add(b2.mul(a)); c13 = c13.add(b3.mul(a));
                    a = ShortVector.broadcast(SHORTS, x[x2 + c]);
                    c20 = c20.add(b0.mul(a)); c21 = c21.add(b1.mul(a)); c22 = c22.add(b2.mul(a)); c23 = c23.add(b3.mul(a));
                    a = ShortVector.broadcast(SHORTS, x[x3 + c]);
                    c30 = c30.add(b0.mul(a)); c31 = c31.add(b1.mul(a)); c32 = c32.add(b2.mul(a)); c33 = c33.add(b3.mul(a));
                    a = ShortVector.broadcast(SHORTS, x[x4 + c]);
                    c40 = c40.add(b0.mul(a)); c41 = c41.add(b1.mul(a)); c42 = c42.add(b2.mul(a)); c43 = c43.add(b3.mul(a));
                    a = ShortVector.broadcast(SHORTS, x[x5 + c]);
                    c50 = c50.add(b0.mul(a)); c51 = c51.add(b1.mul(a)); c52 = c52.add(b2.mul(a)); c53 = c53.add(b3.mul(a));
                }
                int W = WIDE_TILE;
                c00.intoArray(sacc, 0); c01.intoArray(sacc, SHORT_LANES); c02.intoArray(sacc, 2 * SHORT_LANES); c03.intoArray(sacc, 3 * SHORT_LANES);
                c10.intoArray(sacc, W); c11.intoArray(sacc, W + SHORT_LANES); c12.intoArray(sacc, W + 2 * SHORT_LANES); c13.intoArray(sacc, W + 3 * SHORT_LANES);
                c20.intoArray(sacc, 2 * W); c21.intoArray(sacc, 2 * W + SHORT_LANES); c22.intoArray(sacc, 2 * W + 2 * SHORT_LANES); c23.intoArray(sacc, 2 * W + 3 * SHORT_LANES);
                c30.intoArray(sacc, 3 * W); c31.intoArray(sacc, 3 * W + SHORT_LANES); c32.intoArray(sacc, 3 * W + 2 * SHORT_LANES); c33.intoArray(sacc, 3 * W + 3 * SHORT_LANES);
                c40.intoArray(sacc, 4 * W); c41.intoArray(sacc, 4 * W + SHORT_LANES); c42.intoArray(sacc, 4 * W + 2 * SHORT_LANES); c43.intoArray(sacc, 4 * W + 3 * SHORT_LANES);
                c50.intoArray(sacc, 5 * W); c51.intoArray(sacc, 5 * W + SHORT_LANES); c52.intoArray(sacc, 5 * W + 2 * SHORT_LANES); c53.intoArray(sacc, 5 * W + 3 * SHORT_LANES);
                widen(sacc, iacc, W, shifts, so);
            }
        }
    }

    /** As {@link #kernel6x4} for one short vector of outputs (the column tail). */
    private static void kernel6x1(short[] x, int k, short[] w, int r0, int n0, int c0, int c1, short[] sacc) {
        ShortVector c0v = ShortVector.zero(SHORTS), c1v = c0v, c2v = c0v, c3v = c0v, c4v = c0v, c5v = c0v;
        int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k, x4 = x3 + k, x5 = x4 + k, wt = Int16Plan.index(k, 0, n0);
        for (int c = c0; c < c1; c++) {
            ShortVector b = ShortVector.fromArray(SHORTS, w, wt + c * Int16Plan.TILE);
            // explicit broadcasts, as in kernel6x4 (the vector-operand form is the one measured fast)
            c0v = c0v.add(b.mul(ShortVector.broadcast(SHORTS, x[x0 + c]))); c1v = c1v.add(b.mul(ShortVector.broadcast(SHORTS, x[x1 + c])));
            c2v = c2v.add(b.mul(ShortVector.broadcast(SHORTS, x[x2 + c]))); c3v = c3v.add(b.mul(ShortVector.broadcast(SHORTS, x[x3 + c])));
            c4v = c4v.add(b.mul(ShortVector.broadcast(SHORTS, x[x4 + c]))); c5v = c5v.add(b.mul(ShortVector.broadcast(SHORTS, x[x5 + c])));
        }
        c0v.intoArray(sacc, 0); c1v.intoArray(sacc, SHORT_LANES); c2v.intoArray(sacc, 2 * SHORT_LANES);
        c3v.intoArray(sacc, 3 * SHORT_LANES); c4v.intoArray(sacc, 4 * SHORT_LANES); c5v.intoArray(sacc, 5 * SHORT_LANES);
    }

    /**
     * 16-bit chunk sums sign-extended into the 32-bit group sums, shifted to the group's grid when blocks are merged.
     * The wide tile's width is passed on as a constant: C2 inlines {@link #widenRows} at that call and, every offset
     * then a constant plus {@code so}, merges the per-vector bounds checks into a few (with the width a variable it
     * kept one per load and store: 3 % of a MicroScopiQ layer's samples, gone with this; BENCHMARKS.md §1b).
     * Not inlined into {@link #kernel6x4} either way: C2's node budget for that method is spent on the tile.
     */
    private static void widen(short[] sacc, int[] iacc, int width, int[] shifts, int so) {
        if (width == WIDE_TILE) widenRows(sacc, iacc, WIDE_TILE, shifts, so);
        else widenRows(sacc, iacc, width, shifts, so);
    }

    private static void widenRows(short[] sacc, int[] iacc, int width, int[] shifts, int so) {
        int il = INTS.length();
        if (shifts == null) {
            for (int o = 0; o < INT16_TILE_ROWS * width; o += SHORT_LANES) {
                ShortVector s = ShortVector.fromArray(SHORTS, sacc, o);
                IntVector.fromArray(INTS, iacc, o).add((IntVector) s.convertShape(VectorOperators.S2I, INTS, 0)).intoArray(iacc, o);
                IntVector.fromArray(INTS, iacc, o + il).add((IntVector) s.convertShape(VectorOperators.S2I, INTS, 1)).intoArray(iacc, o + il);
            }
            return;
        }
        for (int v = 0; v < width; v += SHORT_LANES) {
            IntVector h0 = IntVector.fromArray(INTS, shifts, so + v), h1 = IntVector.fromArray(INTS, shifts, so + v + il); // shared by the 6 rows
            for (int i = 0; i < INT16_TILE_ROWS; i++) {
                int o = i * width + v;
                ShortVector s = ShortVector.fromArray(SHORTS, sacc, o);
                IntVector a0 = ((IntVector) s.convertShape(VectorOperators.S2I, INTS, 0)).lanewise(VectorOperators.LSHL, h0);
                IntVector a1 = ((IntVector) s.convertShape(VectorOperators.S2I, INTS, 1)).lanewise(VectorOperators.LSHL, h1);
                IntVector.fromArray(INTS, iacc, o).add(a0).intoArray(iacc, o);
                IntVector.fromArray(INTS, iacc, o + il).add(a1).intoArray(iacc, o + il);
            }
        }
    }

    /**
     * The side list's weights of group {@code g} and outputs [n0, n0 + nv SHORT_LANES), added exactly in 32 bits, each
     * shifted as its unit's chunk sums are (units of {@code unit} columns).
     */
    private static void addSparse(Int16Plan.Sparse sp, short[] x, int k, int n, int r0, int n0, int nv, int width, int g, int unit, int[] shifts, int[] iacc) {
        int[] start = sp.start(), col = sp.col(), on = sp.n(), val = sp.value();
        int cell = sp.cell(g, n0 / SHORT_LANES);
        for (int e = start[cell], ee = start[cell + nv]; e < ee; e++) {
            int j = on[e] - n0, c = col[e], v = val[e];
            int sh = shifts == null ? 0 : shifts[c / unit * n + on[e]];
            for (int i = 0; i < INT16_TILE_ROWS; i++) iacc[i * width + j] += (v * x[(r0 + i) * k + c]) << sh;
        }
    }

    /**
     * out += fp64(group sum) * scale (asymmetric INT: (sum - z * sumq) * s), in group order, for the {@code rows} x
     * {@code width} exact integer sums in {@code iacc}: the one fold of every tile kernel (INT16 groups, FP32-exact and
     * INT32 blocks). Group 0 starts the sums from +0.0 instead of reading {@code out} (no fill before the tile; the same
     * {@code 0.0 + p} as a cleared {@code out}, so even a -0.0 partial ends as +0.0 exactly as before).
     */
    private static void fold(int[] iacc, double[] out, int rows, int width, double[] scale, int so, double[] zero, int[] sums, int r0, int g, int nb) {
        for (int i = 0; i < rows; i++) {
            double sq = zero == null ? 0 : sums[(r0 + i) * nb + g];
            for (int j = 0; j < width; j += DOUBLE_LANES) {
                int o = i * width + j;
                DoubleVector a = (DoubleVector) IntVector.fromArray(INTS_PER_DOUBLE_VECTOR, iacc, o).convertShape(VectorOperators.I2D, DOUBLES, 0);
                if (zero != null) a = a.sub(DoubleVector.fromArray(DOUBLES, zero, so + j).mul(sq));
                DoubleVector acc = g == 0 ? DoubleVector.zero(DOUBLES) : DoubleVector.fromArray(DOUBLES, out, o);
                acc.add(a.mul(DoubleVector.fromArray(DOUBLES, scale, so + j))).intoArray(out, o);
            }
        }
    }

    // The tile kernels are written out in full, without helper methods taking or returning vectors: C2
    // does not always inline such helpers, and a vector that crosses a call is boxed (measured: 5x slower).
    // A tile is 4 tokens x 32 outputs; after each block its exact sums go through blockSums (L1) into the one
    // fold, and the fp64 sums live in out[] (L1), touched once per block. Measured against the fold written out in
    // registers (two 48-line copies): within this machine's noise, median +3 % on MiniLM's MX-INT8 layers
    // (BENCHMARKS.md §4, "One fold").
    private void tileFp32(float[] qf, int[] sums, int r0, int n0, int[] blockSums, double[] out) {
        float[] w = wf;
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        double[] scale = d.scale(), zero = d.zero();
        int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++) {
            FloatVector c00 = FloatVector.zero(FLOATS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int c = b * bs, e = Math.min(k, c + bs); c < e; c++) {
                int o = c * n + n0;
                FloatVector w0 = FloatVector.fromArray(FLOATS, w, o), w1 = FloatVector.fromArray(FLOATS, w, o + FLOAT_LANES);
                FloatVector b0 = FloatVector.broadcast(FLOATS, qf[x0 + c]), b1 = FloatVector.broadcast(FLOATS, qf[x1 + c]);
                FloatVector b2 = FloatVector.broadcast(FLOATS, qf[x2 + c]), b3 = FloatVector.broadcast(FLOATS, qf[x3 + c]);
                c00 = w0.fma(b0, c00); c01 = w1.fma(b0, c01);
                c10 = w0.fma(b1, c10); c11 = w1.fma(b1, c11);
                c20 = w0.fma(b2, c20); c21 = w1.fma(b2, c21);
                c30 = w0.fma(b3, c30); c31 = w1.fma(b3, c31);
            }
            // exact: every block sum is an integer below 2^24 in magnitude (this mode's condition), so F2I loses nothing
            ((IntVector) c00.convert(VectorOperators.F2I, 0)).intoArray(blockSums, 0);
            ((IntVector) c01.convert(VectorOperators.F2I, 0)).intoArray(blockSums, FLOAT_LANES);
            ((IntVector) c10.convert(VectorOperators.F2I, 0)).intoArray(blockSums, TILE_COLUMNS);
            ((IntVector) c11.convert(VectorOperators.F2I, 0)).intoArray(blockSums, TILE_COLUMNS + FLOAT_LANES);
            ((IntVector) c20.convert(VectorOperators.F2I, 0)).intoArray(blockSums, 2 * TILE_COLUMNS);
            ((IntVector) c21.convert(VectorOperators.F2I, 0)).intoArray(blockSums, 2 * TILE_COLUMNS + FLOAT_LANES);
            ((IntVector) c30.convert(VectorOperators.F2I, 0)).intoArray(blockSums, 3 * TILE_COLUMNS);
            ((IntVector) c31.convert(VectorOperators.F2I, 0)).intoArray(blockSums, 3 * TILE_COLUMNS + FLOAT_LANES);
            fold(blockSums, out, TILE_ROWS, TILE_COLUMNS, scale, b * n + n0, zero, sums, r0, b, nb);
        }
    }

    private void tileInt32(int[] q, int[] sums, int r0, int n0, int[] blockSums, double[] out) {
        int[] w = wi;
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        double[] scale = d.scale(), zero = d.zero();
        int x0 = r0 * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++) {
            IntVector c00 = IntVector.zero(INTS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int c = b * bs, e = Math.min(k, c + bs); c < e; c++) {
                int o = c * n + n0;
                IntVector w0 = IntVector.fromArray(INTS, w, o), w1 = IntVector.fromArray(INTS, w, o + FLOAT_LANES);
                int b0 = q[x0 + c], b1 = q[x1 + c], b2 = q[x2 + c], b3 = q[x3 + c];
                c00 = c00.add(w0.mul(b0)); c01 = c01.add(w1.mul(b0));
                c10 = c10.add(w0.mul(b1)); c11 = c11.add(w1.mul(b1));
                c20 = c20.add(w0.mul(b2)); c21 = c21.add(w1.mul(b2));
                c30 = c30.add(w0.mul(b3)); c31 = c31.add(w1.mul(b3));
            }
            c00.intoArray(blockSums, 0);
            c01.intoArray(blockSums, FLOAT_LANES);
            c10.intoArray(blockSums, TILE_COLUMNS);
            c11.intoArray(blockSums, TILE_COLUMNS + FLOAT_LANES);
            c20.intoArray(blockSums, 2 * TILE_COLUMNS);
            c21.intoArray(blockSums, 2 * TILE_COLUMNS + FLOAT_LANES);
            c30.intoArray(blockSums, 3 * TILE_COLUMNS);
            c31.intoArray(blockSums, 3 * TILE_COLUMNS + FLOAT_LANES);
            fold(blockSums, out, TILE_ROWS, TILE_COLUMNS, scale, b * n + n0, zero, sums, r0, b, nb);
        }
    }
}
