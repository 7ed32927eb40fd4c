package io.qbridge.emulator;

import io.qbridge.compute.SpinTeam;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The decode-time kernel: a few tokens (matrix-vector products, {@code rows <= }{@link #MAX_ROWS}) through one
 * resident layer, reading every weight once from a plane of 4 or 8 bits per weight. It computes exactly §3 of
 * {@code docs/emulator.md} (INT8 per-token activations), so its outputs are bit-identical to {@link Datapath}'s:
 * <pre>
 *   acc_b = sum_{c in b} w[c][n] q[c]            exact, int32 (the layer's accumulatorBound is below 2^31)
 *   p_b   = fp64(acc_b) * S[b][n]                 exact (§4)
 *   sum   = ((p_0 + p_1) + p_2) + ...             fp64, block order
 *   y     = fp32(fp64(sum * s_x)) (+ bias in fp32)   Datapath.finishRow
 * </pre>
 * When the layer's block scales are powers of two and the load-time proof of {@link Int16Plan.Groups} holds (MX,
 * MicroScopiQ), consecutive blocks share one int32 accumulator, each block's sum shifted onto the group's finest grid,
 * and one fold per group replaces one per block: the same fp64 sum, because every partial sum of the block-order
 * fold is then exact (the proof is {@link Int16Plan}'s, shared with the tiled datapath).
 *
 * <p><b>The plane.</b> At load every integer weight {@code w} of block b, output n is written as
 * {@code w = p << sh[b][n]} with {@code p} in the plane's range ([-8, 7] for 4 bits, [-127, 127] for 8) where
 * that is exact; the weights that do not fit (MicroScopiQ's merged outliers, on a finer grid than the block's
 * inliers) are kept exactly in a side list and added into the block's int32 sum before the fold. The shift
 * {@code sh} is chosen per (block, output) to let the most weights fit; any choice gives the same integer
 * {@code acc_b = (sum p q) << sh + sum_side w q}, so it is a speed choice only. 4 bits are used when at most
 * 1/128 of the weights go to the side list, else 8 bits when at most 1/16 do; else (or with zero points, MX-INT8
 * activations, odd block sizes, fp64-only scales, a bound above int32) the layer has no decode kernel and
 * {@link Datapath} runs every call. rtn-w4g128 takes 4 bits; mxint8 and microscopiq-w4 take 8 bits (MicroScopiQ's
 * ~3 % of outliers would go to the side list on 4 bits, whose scalar entries cost more than the wider plane).
 *
 * <p><b>Layout and loop.</b> Outputs are cut into slabs of {@code W} (a 16-bit vector's lanes: 32 with
 * AVX-512); each slab's plane is contiguous, column after column ({@code W} bytes per column for 8 bits, per
 * column pair for 4 bits: low nibble the even column), so a slab is one sequential stream; within a column,
 * output i of the slab sits in lane 2i and output W/2 + i in lane 2i + 1, so that widening 16-bit lanes to int32
 * by pairs (a reinterpretation and shifts) gives the outputs in order. Per column (pair) the codes are
 * sign-extended to 16-bit lanes and multiplied by the broadcast activation code; 16-bit lane sums are exact for
 * a chunk of columns whose worst case {@code 127 * max|p| * columns <= 32767} (32 columns for 4 bits), then
 * widened into int32 block sums; for 8 bits a chunk is a column pair ({@code 2 * 127 * 127 = 32258}), widened at
 * once ({@link #blockSums8}). Slabs are spread over the {@link SpinTeam} (decoding runs
 * dozens of products per token, each a fraction of a millisecond). For {@code rows > 1} each slab runs all rows
 * while its plane is still in cache.
 */
public final class MatVecKernel {
    /** Tokens per call up to which the emulator takes this kernel (more: {@link Datapath}'s tiles). */
    public static final int MAX_ROWS = 8;
    /** At most this fraction (1 / x) of a layer's weights may go to the side list. */
    private static final int SIDE_BUDGET = 16;
    /**
     * At most this fraction (1 / x) for a plane of 4-bit codes, else the layer takes 8-bit codes: a side-list
     * entry costs about 4 ns, about 100 times what the wider codes add per weight (MicroScopiQ's ~3 % of
     * outliers made its layers 2.4x slower than on 8-bit codes without a side list).
     */
    private static final int NARROW_SIDE_BUDGET = 128;

    private static final VectorSpecies<Short> SS = ShortVector.SPECIES_PREFERRED;
    private static final int W = SS.length();
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(SS.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, SS.vectorShape());
    private static final int IL = IS.length(); // W / 2
    /** Bytes as many as an int vector has lanes. */
    private static final VectorSpecies<Byte> BI = VectorSpecies.of(byte.class, VectorShape.forBitSize(SS.vectorBitSize() / 4));
    private static final VectorSpecies<Double> DS = VectorSpecies.of(double.class, SS.vectorShape());
    private static final int DL = DS.length(); // W / 4
    /** Ints and floats as many as a double vector has lanes. */
    private static final VectorSpecies<Integer> IH = VectorSpecies.of(int.class, VectorShape.forBitSize(SS.vectorBitSize() / 2));
    private static final VectorSpecies<Float> FH = VectorSpecies.of(float.class, VectorShape.forBitSize(SS.vectorBitSize() / 2));

    private final int n, k, kp, bs, nb, slabs, bits, chunk;
    /** Blocks per int32 accumulator and fold (1: every block folded on its own), and the number of such groups. */
    private final int group, ng;
    /** [slab][column (pair)][W] codes. */
    private final byte[] plane;
    /**
     * [slab][block][W] left shifts of a block's plane sum: the plane's own ({@code w = p << sh}) plus the block's onto its
     * group's grid (often all 0).
     */
    private final byte[] shifts;
    /** [slab][group][W] the scales of the folds: block scales, or merged groups' grids (exactly the decoder's doubles; padding lanes 0). */
    private final float[] scale;
    /** Side list per slab: entries [sideStart[s], sideStart[s + 1]); each (group * W + lane, column, weight on the group's grid). */
    private final int[] sideStart, sideSlot, sideCol, sideW;
    /** Reusable buffers of one call ({@link Codes}) and of one team chunk ({@link Sums}): see {@link Pool}. */
    private final Pool<Codes> codePool;
    private final Pool<Sums> sumPool;

    private MatVecKernel(int n, int k, int bs, int bits, int maxCode, int group, byte[] plane, byte[] shifts, float[] scale, int[] sideStart, int[] sideSlot,
                         int[] sideCol, int[] sideW) {
        this.n = n;
        this.k = k;
        this.kp = (k + 1) & ~1;
        this.bs = bs;
        this.nb = (k + bs - 1) / bs;
        this.slabs = (n + W - 1) / W;
        this.bits = bits;
        this.group = group;
        this.ng = (nb + group - 1) / group;
        // columns whose 16-bit lane sum is exact: 127 * maxCode * chunk <= 32767, even (columns go in pairs)
        this.chunk = bits == 8 ? 2 : Math.max(2, (32767 / (127 * maxCode)) & ~1);
        this.plane = plane;
        this.shifts = shifts;
        this.scale = scale;
        this.sideStart = sideStart;
        this.sideSlot = sideSlot;
        this.sideCol = sideCol;
        this.sideW = sideW;
        this.codePool = new Pool<>(() -> Codes.of(1, kp));
        this.sumPool = new Pool<>(() -> Sums.of(1, ng, bits));
    }

    /** Bits per weight of the plane (4 or 8). */
    public int planeBits() { return bits; }

    /** Weights kept in the side list. */
    public int sideEntries() { return sideW.length; }

    /** Blocks that share one int32 accumulator and one fold (1: none merged). */
    public int blocksPerFold() { return group; }

    /** Bytes one call streams: the plane, the scales and shifts, the side list. */
    public long bytesPerCall() {
        return plane.length + 4L * scale.length + shifts.length + 12L * sideW.length;
    }

    /**
     * The decode kernel for {@code d}, or null when the layer does not qualify (see the class comment): then
     * {@link Datapath} runs it.
     */
    public static MatVecKernel of(DecodedWeights d) {
        if (WARMING.compareAndSet(false, true)) warmUpInBackground(d.format());
        if (d.zero() != null || d.blockSize() % 2 != 0 || d.accumulatorBound() > Integer.MAX_VALUE) return null;
        for (double s : d.scale()) if (!Double.isNaN(s) && (double) (float) s != s) return null;
        MatVecKernel m = build(d, 4, -8, 7, NARROW_SIDE_BUDGET);
        return m != null ? m : build(d, 8, -127, 127, SIDE_BUDGET);
    }

    private static final java.util.concurrent.atomic.AtomicBoolean WARMING = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * JIT warm-up, started by the first decode kernel built (a process that decodes builds dozens at load, which takes
     * seconds; EmulatorAccelerator builds them at load only once decoding is expected):
     * a daemon thread runs two small synthetic layers (4 bits with shifts and a side list, 8 bits) a few thousand
     * times, so that C2 has compiled this kernel's loops before the first token. Until then the Vector API runs
     * interpreted, about a second per call of a 1376 x 512 layer, which made the first tokens of every
     * {@code generate} cost seconds. Only speed: the synthetic layers' outputs are discarded.
     */
    private static void warmUpInBackground(io.qbridge.format.QuantFormat anyFormat) {
        Thread t = new Thread(() -> {
            long end = System.nanoTime() + 5_000_000_000L;
            for (int bits : new int[] {4, 8}) {
                int n = 3 * W, k = 64, bs = 16; // three slabs: a pair and a single one
                long[] v = new long[k * n];
                for (int i = 0; i < v.length; i++) v[i] = bits == 4 ? (i % 15) - 7 << 3 : (i % 255) - 127;
                v[5] = 1; // off the shifted grid: a side-list entry
                double[] sc = new double[(k / bs) * n];
                java.util.Arrays.fill(sc, 0.5);
                MatVecKernel m = build(new DecodedWeights(anyFormat, n, k, bs, v, sc, null, 127L * 16 * 127, 0, 0), bits, bits == 4 ? -8 : -127, bits == 4 ? 7 : 127, SIDE_BUDGET);
                if (m == null) continue;
                short[] q = new short[k];
                for (int i = 0; i < k; i++) q[i] = (short) (i % 255 - 127);
                float[] xs = {1f}, y = new float[n];
                for (int i = 0; i < 4000 && System.nanoTime() < end; i++) m.slabs(q, xs, 1, null, y, 0, 3);
            }
        }, "qbridge-decode-kernel-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    private static MatVecKernel build(DecodedWeights d, int bits, long lo, long hi, int sideBudget) {
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks(), slabs = (n + W - 1) / W, kp = (k + 1) & ~1;
        long[] v = d.values();
        int[] sh = new int[nb * n];
        long budget = (long) n * k / sideBudget, side = 0;
        int[] hist = new int[66];
        for (int b = 0; b < nb; b++) {
            int c0 = b * bs, c1 = Math.min(k, c0 + bs);
            for (int j = 0; j < n; j++) {
                // For each weight the shifts s with w = p << s, p in [lo, hi], form one range [from, tz]:
                // count coverage per shift and keep the shift most weights fit (ties: the smallest).
                Arrays.fill(hist, 0);
                int nonzero = 0;
                for (int c = c0; c < c1; c++) {
                    long w = v[c * n + j];
                    if (w == 0) continue;
                    nonzero++;
                    int tz = Long.numberOfTrailingZeros(w);
                    int from = 0;
                    while (from <= tz && ((w >> from) < lo || (w >> from) > hi)) from++;
                    if (from <= tz) { hist[from]++; hist[tz + 1]--; }
                }
                int best = 0, bestCount = -1, run = 0;
                for (int s = 0; s < 64; s++) {
                    run += hist[s];
                    if (run > bestCount) { bestCount = run; best = s; }
                }
                sh[b * n + j] = best;
                side += nonzero - Math.max(0, bestCount);
            }
            if (side > budget) return null;
        }
        // merged groups: each block's plane sum goes onto its group's grid by a second shift (below 31, as the group's
        // int32 bound implies for any block with a non-zero weight); folded per block when the proof fails
        Int16Plan.Groups merged = Int16Plan.Groups.of(d.scale(), d.zero(), Int16Plan.blockL1(v, n, k, bs, nb), n, nb);
        int group = merged == null ? 1 : merged.size(), ng = (nb + group - 1) / group;
        int[] onto = merged == null ? new int[nb * n] : merged.shifts();
        double[] foldScale = merged == null ? d.scale() : merged.scale();
        for (int i = 0; i < sh.length; i++)
            if (sh[i] + onto[i] > 30) return build(d, bits, lo, hi, sideBudget, sh, side, 1, new int[nb * n], d.scale());
        return build(d, bits, lo, hi, sideBudget, sh, side, group, onto, foldScale);
    }

    /** The plane, shifts, scales and side list of {@code build} above, with blocks merged by {@code group} (1: none). */
    private static MatVecKernel build(DecodedWeights d, int bits, long lo, long hi, int sideBudget, int[] sh, long side, int group, int[] onto, double[] foldScale) {
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks(), slabs = (n + W - 1) / W, kp = (k + 1) & ~1, ng = (nb + group - 1) / group;
        long[] v = d.values();
        byte[] plane = new byte[slabs * (bits == 4 ? kp / 2 : kp) * W];
        byte[] shifts = new byte[slabs * nb * W]; // all 0 when the plane needs no shift and no blocks merge
        float[] scale = new float[slabs * ng * W];
        int[] start = new int[slabs + 1];
        int[] slot = new int[(int) side], col = new int[(int) side], wv = new int[(int) side];
        int e = 0;
        for (int sl = 0; sl < slabs; sl++) {
            start[sl] = e;
            for (int b = 0; b < nb; b++) {
                int c0 = b * bs, c1 = Math.min(k, c0 + bs);
                for (int lane = 0; lane < W; lane++) {
                    int j = sl * W + lane;
                    if (j >= n) continue;
                    int s = sh[b * n + j], g = b / group;
                    int so = (sl * nb + b) * W + lane;
                    scale[(sl * ng + g) * W + lane] = (float) foldScale[g * n + j]; // a group's grid is one of its blocks' scales: fp32 too
                    shifts[so] = (byte) (s + onto[b * n + j]); // below 31 (checked above)
                    for (int c = c0; c < c1; c++) {
                        long w = v[c * n + j];
                        long p = w >> s;
                        if (w != 0 && ((p << s) != w || p < lo || p > hi)) {
                            slot[e] = g * W + lane;
                            col[e] = c;
                            wv[e++] = Math.toIntExact(w << onto[b * n + j]); // within the group's int32 bound
                            continue;
                        }
                        int pl = lane < IL ? 2 * lane : 2 * (lane - IL) + 1; // see blockSums8's widening
                        if (bits == 8) {
                            plane[(sl * kp + c) * W + pl] = (byte) p;
                        } else {
                            int o = (sl * (kp / 2) + c / 2) * W + pl;
                            plane[o] = (byte) (c % 2 == 0 ? (plane[o] & 0xF0) | (p & 0xF) : (plane[o] & 0x0F) | (p << 4));
                        }
                    }
                }
            }
        }
        start[slabs] = e;
        return new MatVecKernel(n, k, bs, bits, (int) Math.max(-lo, hi), group, plane, shifts, scale, start, slot, col, wv);
    }

    /**
     * Buffers that a call or a team chunk takes and gives back, {@link #SLOTS} of them made with the kernel, so that
     * decoding allocates nothing and takes no branch the JIT warm-up did not (the caller's thread and a team worker use
     * them at once). With per-call arrays a collection during decoding copied the load's survivors (100-200 ms, once in
     * 1,024 tokens of the 42M checkpoint); with thread-local ones, their first use on the decoding thread, or their
     * growing for the real model's bigger layers, was a branch the warm-up's compiled code had never taken, and its
     * trap threw that code away at the first real token. A claim finding every slot taken, or a buffer too small (more
     * rows), makes a new one, which its release may keep.
     */
    private static final class Pool<T> {
        private static final int SLOTS = 3;
        private final AtomicReferenceArray<T> slots = new AtomicReferenceArray<>(SLOTS);

        Pool(java.util.function.Supplier<T> make) {
            for (int i = 0; i < SLOTS; i++) slots.set(i, make.get());
        }

        /** A slot's buffer, or null when all are taken. */
        T claim() {
            for (int i = 0; i < SLOTS; i++) {
                T t = slots.getAndSet(i, null);
                if (t != null) return t;
            }
            return null;
        }

        void release(T t) {
            for (int i = 0; i < SLOTS; i++) if (slots.compareAndSet(i, null, t)) return;
        }
    }

    /** One call's INT8 codes ({@code q}) and token scales ({@code xs}). */
    private record Codes(short[] q, float[] xs) {
        static Codes of(int rows, int kp) {
            return new Codes(new short[rows * kp], new float[rows]);
        }

        boolean fits(int rows, int kp) {
            return q.length >= rows * kp && xs.length >= rows;
        }
    }

    /** One team chunk's int32 block sums (a slab, or a pair of 4-bit slabs, for every row) and fp64 folds. */
    private record Sums(int[] acc, double[] folds) {
        static Sums of(int rows, int nb, int bits) {
            return new Sums(new int[(bits == 4 ? 2 : 1) * rows * nb * W], new double[W]); // 4-bit slabs go in pairs
        }
    }

    /**
     * {@code y[rows][N]} for activations {@code x[rows][K]} ({@code 1 <= rows <=} {@link #MAX_ROWS}): the per-token
     * INT8 quantization of §1 ({@link ActivationQuantizer}), then the block sums, folds and output stage above.
     */
    public void run(float[] x, int rows, float[] bias, float[] y) {
        checkRows(rows);
        Codes s = quantize(codePool, x, rows, k, kp);
        short[] q = s.q();
        float[] xs = s.xs();
        SpinTeam.shared().forRange(slabs, grain(), (s0, s1) -> slabs(q, xs, rows, bias, y, s0, s1));
        codePool.release(s);
    }

    /**
     * {@code ys[i] = }{@link #run}{@code (x, rows, biases[i])} of {@code kernels[i]}, for layers that share their input
     * (a decoder's q/k/v, w1/w3): the activations are quantized once (the per-token rule of §1 depends on x alone,
     * so the codes are those each call would make) and the slabs of all the layers fan out over the team once.
     * Each output is computed by its own kernel's slab loop, so the bits are those of separate calls.
     */
    public static void runShared(MatVecKernel[] kernels, float[] x, int rows, float[][] biases, float[][] ys) {
        if (kernels.length != biases.length || kernels.length != ys.length)
            throw new IllegalArgumentException(kernels.length + " kernels, " + biases.length + " biases, " + ys.length + " outputs");
        if (kernels.length == 0) return;
        checkRows(rows);
        int k = kernels[0].k, kp = kernels[0].kp, grain = Integer.MAX_VALUE;
        int[] first = new int[kernels.length + 1];
        for (int i = 0; i < kernels.length; i++) {
            if (kernels[i].k != k) throw new IllegalArgumentException("kernels sharing one input need one K, got " + k + " and " + kernels[i].k);
            grain = Math.min(grain, kernels[i].grain());
            first[i + 1] = first[i] + kernels[i].slabs;
        }
        Codes s = quantize(kernels[0].codePool, x, rows, k, kp);
        short[] q = s.q();
        float[] xs = s.xs();
        SpinTeam.shared().forRange(first[kernels.length], grain, (g0, g1) -> {
            for (int i = 0; i < kernels.length; i++) {
                int a = Math.max(g0, first[i]), b = Math.min(g1, first[i + 1]);
                if (a < b) kernels[i].slabs(q, xs, rows, biases[i], ys[i], a - first[i], b - first[i]);
            }
        });
        kernels[0].codePool.release(s);
    }

    private static void checkRows(int rows) {
        if (rows < 1 || rows > MAX_ROWS) throw new IllegalArgumentException("the decode kernel takes 1 to " + MAX_ROWS + " rows, got " + rows);
    }

    /** Slabs per chunk of the team's range: about 64 KB of plane each. */
    private int grain() {
        return Math.max(1, (1 << 16) / Math.max(1, kp * bits / 8 * W));
    }

    /**
     * The per-token INT8 codes of {@code x} (§1, {@link ActivationQuantizer}) at {@code q[r kp]} (a padding column of
     * code 0 when K is odd) and their scales, in buffers from {@code pool} (the caller gives them back).
     */
    private static Codes quantize(Pool<Codes> pool, float[] x, int rows, int k, int kp) {
        Codes s = pool.claim();
        if (s == null || !s.fits(rows, kp)) s = Codes.of(rows, kp);
        short[] q = s.q();
        if (kp == k) {
            ActivationQuantizer.quantizeRows(x, k, 0, rows, null, null, q, s.xs());
        } else {
            short[] t = new short[rows * k];
            ActivationQuantizer.quantizeRows(x, k, 0, rows, null, null, t, s.xs());
            for (int r = 0; r < rows; r++) {
                System.arraycopy(t, r * k, q, r * kp, k);
                q[r * kp + k] = 0; // the padding column has weight 0 and code 0
            }
        }
        return s;
    }

    private void slabs(short[] q, float[] xs, int rows, float[] bias, float[] y, int s0, int s1) {
        int slabAcc = rows * ng * W;
        Sums buffers = sumPool.claim();
        if (buffers == null || buffers.acc().length < (bits == 4 ? 2 : 1) * slabAcc) buffers = Sums.of(rows, ng, bits);
        int[] acc = buffers.acc();
        double[] sums = buffers.folds();
        for (int sl = s0; sl < s1; ) {
            // 4-bit slabs go in pairs, each broadcast activation code serving both: single-thread, min of 120 at load
            // 22, a block of the 42M shape 93 -> 80 us, the classifier 494 -> 447 us. (8-bit pairs: blocks 15 % faster
            // but the 16 MB classifier 40 % slower, so not taken.)
            int pair = bits == 4 && sl + 1 < s1 ? 2 : 1;
            for (int r = 0; r < rows; r++) {
                if (pair == 2) blockSums4x2(q, r * kp, sl, acc, r * ng * W, slabAcc + r * ng * W);
                else if (bits == 4) blockSums4(q, r * kp, sl, acc, r * ng * W);
                else blockSums8(q, r * kp, sl, acc, r * ng * W);
            }
            for (int u = 0; u < pair; u++) finishSlab(sl + u, u * slabAcc, q, xs, rows, bias, y, acc, sums);
            sl += pair;
        }
        sumPool.release(buffers);
    }

    /** Side list, fold and output stage of slab {@code sl}, whose group sums are at {@code acc[base]}. */
    private void finishSlab(int sl, int base, short[] q, float[] xs, int rows, float[] bias, float[] y, int[] acc, double[] sums) {
        for (int e = sideStart[sl], end = sideStart[sl + 1]; e < end; e++) {
            for (int r = 0; r < rows; r++) acc[base + r * ng * W + sideSlot[e]] += sideW[e] * q[r * kp + sideCol[e]];
        }
        int n0 = sl * W, len = Math.min(W, n - n0);
        for (int r = 0; r < rows; r++) {
            fold(acc, base + r * ng * W, sl, sums);
            Datapath.finishRow(sums, 0, len, xs[r], bias, n0, y, r * n + n0);
        }
    }

    // The three block-sum loops below: per group of merged blocks (one block when none are merged), each block's int32
    // sums shifted in registers (by the plane's shift plus the block's onto its group's grid; all 0 when there are none)
    // and added into the group's, which is stored once. Written out in full, with the groups as an outer loop: a vector
    // merged across a branch (a store every `group` blocks inside one block loop) or returned by a helper made C2 compile
    // the 4-bit loop 1.7x slower.

    /** As {@link #blockSums4} for slabs {@code sl} and {@code sl + 1} at once, into {@code acc[ao]} and {@code acc[ao2]}. */
    private void blockSums4x2(short[] q, int qo, int sl, int[] acc, int ao, int ao2) {
        int po = sl * (kp / 2) * W, po2 = po + (kp / 2) * W, so = sl * nb * W, so2 = so + nb * W;
        for (int g = 0; g < ng; g++) {
            IntVector g0 = IntVector.zero(IS), g1 = g0, f0 = g0, f1 = g0;
            for (int b = g * group, be = Math.min(nb, b + group); b < be; b++) {
                int c0 = b * bs, c1 = Math.min(kp, c0 + bs);
                IntVector a0 = IntVector.zero(IS), a1 = a0, b0 = a0, b1 = a0;
                for (int h0 = c0; h0 < c1; h0 += chunk) {
                    int h1 = Math.min(c1, h0 + chunk);
                    ShortVector t = ShortVector.zero(SS), u = t;
                    for (int c = h0; c < h1; c += 2) {
                        ShortVector qe = ShortVector.broadcast(SS, q[qo + c]), qo1 = ShortVector.broadcast(SS, q[qo + c + 1]);
                        ShortVector p = (ShortVector) ByteVector.fromArray(BS, plane, po + (c >> 1) * W).convertShape(VectorOperators.B2S, SS, 0);
                        ShortVector r = (ShortVector) ByteVector.fromArray(BS, plane, po2 + (c >> 1) * W).convertShape(VectorOperators.B2S, SS, 0);
                        t = t.add(p.lanewise(VectorOperators.LSHL, 12).lanewise(VectorOperators.ASHR, 12).mul(qe)).add(p.lanewise(VectorOperators.ASHR, 4).mul(qo1));
                        u = u.add(r.lanewise(VectorOperators.LSHL, 12).lanewise(VectorOperators.ASHR, 12).mul(qe)).add(r.lanewise(VectorOperators.ASHR, 4).mul(qo1));
                    }
                    IntVector ti = t.reinterpretAsInts(), ui = u.reinterpretAsInts();
                    a0 = a0.add(ti.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    a1 = a1.add(ti.lanewise(VectorOperators.ASHR, 16));
                    b0 = b0.add(ui.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    b1 = b1.add(ui.lanewise(VectorOperators.ASHR, 16));
                }
                g0 = g0.add(a0.lanewise(VectorOperators.LSHL, (IntVector) ByteVector.fromArray(BI, shifts, so + b * W).convertShape(VectorOperators.B2I, IS, 0)));
                g1 = g1.add(a1.lanewise(VectorOperators.LSHL, (IntVector) ByteVector.fromArray(BI, shifts, so + b * W + IL).convertShape(VectorOperators.B2I, IS, 0)));
                f0 = f0.add(b0.lanewise(VectorOperators.LSHL, (IntVector) ByteVector.fromArray(BI, shifts, so2 + b * W).convertShape(VectorOperators.B2I, IS, 0)));
                f1 = f1.add(b1.lanewise(VectorOperators.LSHL, (IntVector) ByteVector.fromArray(BI, shifts, so2 + b * W + IL).convertShape(VectorOperators.B2I, IS, 0)));
            }
            g0.intoArray(acc, ao + g * W);
            g1.intoArray(acc, ao + g * W + IL);
            f0.intoArray(acc, ao2 + g * W);
            f1.intoArray(acc, ao2 + g * W + IL);
        }
    }

    /** The int32 group sums of one token and one slab, 4-bit plane: acc[ao + g W + lane]. */
    private void blockSums4(short[] q, int qo, int sl, int[] acc, int ao) {
        int po = sl * (kp / 2) * W, so = sl * nb * W;
        for (int g = 0; g < ng; g++) {
            IntVector g0 = IntVector.zero(IS), g1 = g0;
            for (int b = g * group, be = Math.min(nb, b + group); b < be; b++) {
                int c0 = b * bs, c1 = Math.min(kp, c0 + bs);
                IntVector a0 = IntVector.zero(IS), a1 = a0;
                for (int h0 = c0; h0 < c1; h0 += chunk) {
                    int h1 = Math.min(c1, h0 + chunk);
                    ShortVector t = ShortVector.zero(SS);
                    for (int c = h0; c < h1; c += 2) {
                        ShortVector p = (ShortVector) ByteVector.fromArray(BS, plane, po + (c >> 1) * W).convertShape(VectorOperators.B2S, SS, 0);
                        ShortVector even = p.lanewise(VectorOperators.LSHL, 12).lanewise(VectorOperators.ASHR, 12);
                        ShortVector odd = p.lanewise(VectorOperators.ASHR, 4);
                        t = t.add(even.mul(q[qo + c])).add(odd.mul(q[qo + c + 1]));
                    }
                    // widen by pairs of 16-bit lanes: the plane holds output i in lane 2i and output IL + i in
                    // lane 2i + 1, so the low halves are outputs [0, IL) and the high halves [IL, W)
                    IntVector ti = t.reinterpretAsInts();
                    a0 = a0.add(ti.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    a1 = a1.add(ti.lanewise(VectorOperators.ASHR, 16));
                }
                g0 = g0.add(a0.lanewise(VectorOperators.LSHL, (IntVector) ByteVector.fromArray(BI, shifts, so + b * W).convertShape(VectorOperators.B2I, IS, 0)));
                g1 = g1.add(a1.lanewise(VectorOperators.LSHL, (IntVector) ByteVector.fromArray(BI, shifts, so + b * W + IL).convertShape(VectorOperators.B2I, IS, 0)));
            }
            g0.intoArray(acc, ao + g * W);
            g1.intoArray(acc, ao + g * W + IL);
        }
    }

    /**
     * As {@link #blockSums4} for the 8-bit plane: a column pair's two products per lane sum exactly in 16 bits
     * ({@code |p|, |q| <= 127}: at most {@code 2 * 127 * 127 = 32258}) and are widened into the int32 sums at once.
     * (Until the fourth pass of BENCHMARKS.md §2b the codes went in split as {@code q = 16 qh + ql}, so that 16
     * columns summed in 16 bits between widenings, at the price of two products per weight and four broadcasts per
     * column pair: one thread, a 1536 x 512 layer, mxint8 48 -> 26 µs, microscopiq-w4 42 -> 30 µs; its 32000 x 512
     * classifier 888 -> 657 µs.)
     */
    private void blockSums8(short[] q, int qo, int sl, int[] acc, int ao) {
        int po = sl * kp * W, so = sl * nb * W;
        for (int g = 0; g < ng; g++) {
            IntVector g0 = IntVector.zero(IS), g1 = g0;
            for (int b = g * group, be = Math.min(nb, b + group); b < be; b++) {
                int c0 = b * bs, c1 = Math.min(kp, c0 + bs);
                IntVector a0 = IntVector.zero(IS), a1 = a0;
                for (int c = c0; c < c1; c += 2) {
                    ShortVector p0 = (ShortVector) ByteVector.fromArray(BS, plane, po + c * W).convertShape(VectorOperators.B2S, SS, 0);
                    ShortVector p1 = (ShortVector) ByteVector.fromArray(BS, plane, po + (c + 1) * W).convertShape(VectorOperators.B2S, SS, 0);
                    IntVector t = p0.mul(q[qo + c]).add(p1.mul(q[qo + c + 1])).reinterpretAsInts();
                    a0 = a0.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    a1 = a1.add(t.lanewise(VectorOperators.ASHR, 16));
                }
                g0 = g0.add(a0.lanewise(VectorOperators.LSHL, (IntVector) ByteVector.fromArray(BI, shifts, so + b * W).convertShape(VectorOperators.B2I, IS, 0)));
                g1 = g1.add(a1.lanewise(VectorOperators.LSHL, (IntVector) ByteVector.fromArray(BI, shifts, so + b * W + IL).convertShape(VectorOperators.B2I, IS, 0)));
            }
            g0.intoArray(acc, ao + g * W);
            g1.intoArray(acc, ao + g * W + IL);
        }
    }

    /**
     * sums[lane] = ((p_0 + p_1) + ...) with p_g = fp64(acc_g) * S_g, per block or merged group: §3's fold, in block order. The int and float
     * loads have as many lanes as a double vector, so I2D and F2D are same-length conversions (C2 intrinsifies
     * those; an I2D from a full-width int vector's upper part was left as a call and ran ~100x slower).
     */
    private void fold(int[] acc, int ao, int sl, double[] sums) {
        int so = sl * ng * W;
        for (int part = 0; part < W; part += 2 * DL) {
            DoubleVector d0 = DoubleVector.zero(DS), d1 = d0;
            for (int b = 0; b < ng; b++) {
                int o = b * W + part;
                DoubleVector p0 = ((DoubleVector) IntVector.fromArray(IH, acc, ao + o).convertShape(VectorOperators.I2D, DS, 0))
                        .mul((DoubleVector) FloatVector.fromArray(FH, scale, so + o).convertShape(VectorOperators.F2D, DS, 0));
                DoubleVector p1 = ((DoubleVector) IntVector.fromArray(IH, acc, ao + o + DL).convertShape(VectorOperators.I2D, DS, 0))
                        .mul((DoubleVector) FloatVector.fromArray(FH, scale, so + o + DL).convertShape(VectorOperators.F2D, DS, 0));
                d0 = d0.add(p0);
                d1 = d1.add(p1);
            }
            d0.intoArray(sums, part);
            d1.intoArray(sums, part + DL);
        }
    }
}
