package io.qbridge.emulator;

/**
 * How the host computes the exact block sums in 16-bit integer lanes (the fastest host mode,
 * {@link Datapath.Mode#INT16}), decided once at load from the decoded integers. Nothing here changes the
 * arithmetic of docs/emulator.md §3; it only proves that narrower host integers give the same numbers:
 *
 * <ul>
 *   <li><b>Chunks.</b> Each block is cut into chunks of {@link #chunk} columns such that
 *       {@code 127 * sum_{c in chunk} |w[c][n]| <= 32767} for every chunk and output: the chunk's exact sum
 *       fits a signed 16-bit lane, so 16-bit two's complement products and sums (which may wrap in between)
 *       end at the exact value. Each chunk sum is then sign-extended into a 32-bit block accumulator.</li>
 *   <li><b>Groups of blocks (power-of-two scales only).</b> When every block scale is a power of two (MX,
 *       MicroScopiQ), {@link #group} consecutive blocks can share one 32-bit accumulator: block b's sum
 *       enters it shifted left by {@code shifts[b][n] = log2 S[b][n] - log2 min_{b in group} S[b][n]},
 *       which is {@code acc_b * S_b} on the group's finest grid, exactly, as long as
 *       {@code sum_{b in group} 127 * L1_b * 2^shift_b <= 2^31 - 1} (checked for every group and output).
 *       This replaces several fp64 folds by one, and equals the block-order fp64 sum of §3 only because
 *       that sum is itself exact here: every p_b is an integer multiple of the row's finest grid
 *       {@code 2^e_min}, and the whole row's {@code sum_b 127 * L1_b * S_b / 2^e_min < 2^52}, so every
 *       partial sum in every order is representable in fp64 (checked for every output; if one output fails,
 *       no blocks are merged anywhere in the layer and the fold is the block-order one).</li>
 *   <li><b>Chunks spanning blocks (merged groups only).</b> When whole blocks fit one chunk, a chunk may cover m
 *       blocks of a group, its weights pre-shifted at load onto the chunk's finest grid; the 16-bit proof is
 *       redone on the pre-shifted plane and the overflow goes to the side list (see {@code spanning}).</li>
 * </ul>
 *
 * @param w          the decoded integers as 16-bit values (0 where the weight is in {@code sparse}), pre-shifted
 *                   to their chunk's grid when chunks span blocks, in tiles of {@link #TILE} outputs: weight (c, j)
 *                   at {@link #index}(k, c, j), the last tile padded with zeros
 * @param sparse     the few weights too large for the 16-bit plane, added to the 32-bit sums (null if none)
 * @param chunk      columns per chunk (a block of {@code blockSize} has ceil(blockSize / chunk) chunks; when chunks
 *                   span blocks, chunk = unit = m blocks)
 * @param unit       columns sharing one row of {@code shifts}: the block size, or the chunk when chunks span blocks
 * @param group      blocks per 32-bit accumulator (1: every block folded on its own, in block order)
 * @param shifts     [K / unit][N] left shift of each unit's (block's or spanning chunk's) sum inside its group,
 *                   or null when group == 1
 * @param groupScale [groups][N] the scale applied to a group's sum (the block scale when group == 1)
 */
record Int16Plan(short[] w, Int16Plan.Sparse sparse, int chunk, int unit, int group, int[] shifts, double[] groupScale) {
    static final int INT16_MAX = Short.MAX_VALUE;
    /** Below this chunk length the widening costs more than the 16-bit lanes save. */
    static final int MIN_CHUNK = 8;
    /**
     * Outputs per tile of {@link #w}: each tile holds its outputs' weights column after column ([K][TILE]), so the
     * INT16 kernels read column c of a tile at a constant stride from column 0, and C2 proves their vector loads in
     * bounds once before the column loop instead of checking every load ([K][N] strode N, a variable).
     */
    static final int TILE = 128;

    /** Where weight (column c, output j) of a layer of {@code k} columns is in {@link #w}. */
    static int index(int k, int c, int j) {
        return j / TILE * TILE * k + c * TILE + j % TILE;
    }

    /** The length of {@link #w} for {@code n} outputs and {@code k} columns: whole tiles. */
    static int planeLength(int n, int k) {
        return Math.multiplyExact((n + TILE - 1) / TILE * TILE, k);
    }

    int groups(int blocks) {
        return (blocks + group - 1) / group;
    }

    /**
     * The plan for a decoded layer, or null when its integers do not fit 16-bit chunks of at least {@link #MIN_CHUNK}
     * (or when this machine's short vectors are wider than a quarter of a {@link #TILE}, which no x86 has).
     */
    static Int16Plan of(DecodedWeights d) {
        if (TILE % (4 * Sparse.SLAB) != 0) return null; // a wide kernel tile (4 short vectors) must lie in one plane tile
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        long[] v = d.values();
        int chunk = -1;
        long threshold = -1;
        for (long t : SPARSE_THRESHOLDS) {
            chunk = chunkLength(v, n, k, bs, t);
            if (chunk > 0) { threshold = t; break; }
        }
        if (chunk < 0) return null;
        int count = countAbove(v, threshold);
        if (count > v.length / 64) return null; // too many for a side list: the fp32/int32 kernels do better

        long[] l1 = blockL1(v, n, k, bs, nb);
        double[] scale = d.scale();
        Groups merged = Groups.of(scale, d.zero(), l1, n, nb);
        if (merged == null) return plane(v, n, k, bs, chunk, threshold, count, 1, null, scale);
        int group = merged.size();
        double[] gs = merged.scale();
        // chunks of m >= 2 blocks when whole blocks fit; when they do not, whole blocks (m = 1) with a side list
        Int16Plan spanning = spanning(v, scale, l1, n, k, bs, nb, group, gs, chunk == bs ? 2 : 1);
        if (spanning != null) return spanning;
        return plane(v, n, k, bs, chunk, threshold, count, group, merged.shifts(), gs);
    }

    /**
     * Blocks merged into groups that share one 32-bit accumulator and one fold (the class comment's second point, the
     * proof included), for any kernel that sums exact block integers: {@code size} blocks a group, each (group, output)'s
     * grid {@code scale} ([groups][N], a power of two) and each (block, output)'s left shift onto it {@code shifts}
     * ([blocks][N]; 0 for a block with no non-zero weight). Used by this plan and by {@link MatVecKernel}.
     */
    record Groups(int size, double[] scale, int[] shifts) {
        /**
         * The largest merge the proof allows for a layer with block scales {@code scale} ([nb][n]), zero points
         * {@code zero} (none allowed) and block magnitude sums {@code l1} ({@link #blockL1}), or null when blocks
         * cannot be merged (then every block is folded on its own, in block order).
         */
        static Groups of(double[] scale, double[] zero, long[] l1, int n, int nb) {
            int group = zero == null && powersOfTwo(scale) && rowsSumExactly(scale, l1, n, nb) ? largestGroup(scale, l1, n, nb) : 1;
            if (group == 1) return null;
            int ng = (nb + group - 1) / group;
            int[] shifts = new int[nb * n];
            double[] gs = new double[ng * n];
            for (int g = 0; g < ng; g++) groupGrid(scale, l1, n, nb, group, g, gs, shifts);
            return new Groups(group, gs, shifts);
        }
    }

    // The loops of of() over all weights are methods of their own for the reason given at spanning()'s steps.

    private static int countAbove(long[] v, long threshold) {
        int count = 0;
        for (long x : v) if (Math.abs(x) > threshold) count++;
        return count;
    }

    /** Each (block, output)'s sum of magnitudes, {@code [nb][n]}. */
    static long[] blockL1(long[] v, int n, int k, int bs, int nb) {
        long[] l1 = new long[nb * n];
        for (int c = 0; c < k; c++) {
            int b = c / bs;
            for (int j = 0; j < n; j++) l1[b * n + j] += Math.abs(v[c * n + j]);
        }
        return l1;
    }

    /** Merged group g's grid of each output ({@code gs}) and each of its blocks' shift onto it ({@code shifts}; 0 for an all-zero block). */
    private static void groupGrid(double[] scale, long[] l1, int n, int nb, int group, int g, double[] gs, int[] shifts) {
        for (int j = 0; j < n; j++) {
            int emin = groupMinExponent(scale, l1, n, j, g * group, Math.min(nb, (g + 1) * group));
            gs[g * n + j] = Math.scalb(1.0, emin);
            for (int b = g * group; b < Math.min(nb, (g + 1) * group); b++)
                shifts[b * n + j] = l1[b * n + j] == 0 ? 0 : Math.getExponent(scale[b * n + j]) - emin;
        }
    }

    /**
     * The plan whose chunks stay inside blocks: the integers as they are in the 16-bit plane, the {@code count} above
     * {@code threshold} in the side list. Built only when it is the one taken (a spanning plan builds its own plane).
     */
    private static Int16Plan plane(long[] v, int n, int k, int bs, int chunk, long threshold, int count, int group, int[] shifts, double[] groupScale) {
        short[] w = new short[planeLength(n, k)];
        int[] start = new int[k + 1], sparseN = new int[count], sparseV = new int[count];
        count = 0;
        for (int c = 0; c < k; c++) {
            start[c] = count;
            for (int j = 0; j < n; j++) {
                long x = v[c * n + j];
                if (Math.abs(x) > threshold) { sparseN[count] = j; sparseV[count++] = (int) x; }
                else w[index(k, c, j)] = (short) x;
            }
        }
        start[k] = count;
        return new Int16Plan(w, count == 0 ? null : Sparse.indexed(start, sparseN, sparseV, n, group * bs), chunk, bs, group, shifts, groupScale);
    }

    /** Most blocks one 16-bit chunk may span (128 columns of 16-blocks: one MicroScopiQ macro-block). */
    static final int MAX_SPAN_BLOCKS = 8;

    /**
     * Chunks spanning m blocks of one merged group (power-of-two scales, every output's row sum proven exact and
     * every group proven to fit int32, see the class comment): each weight is pre-shifted at load onto the finest
     * grid of its chunk ({@code w << (e_b - e_chunk)}, exact), so one 16-bit chunk sum covers m blocks and enters the
     * group accumulator shifted by {@code e_chunk - e_group}: the same integer {@code sum_b acc_b 2^(e_b - e_group)}
     * as the per-block chunks. Per chunk and output the pre-shifted plane must again satisfy
     * {@code 127 * sum |w'| <= 32767}; pre-shifted weights above 258 and, where a chunk's sum is still too large, its
     * largest weights go to the side list (added exactly in 32 bits: {@code 127 |w'| 2^shift} is bounded by the
     * group's int32 check). The largest m (dividing the group) whose side list stays at most 1/256 of the weights
     * is taken; null if none (then chunks stay inside blocks). With {@code minM = 1} (merged groups whose whole blocks do
     * not fit 16 bits everywhere, e.g. a few MX-FP4 outputs whose 32-block sum exceeds 258 x 127), m = 1 is tried last:
     * chunks of one whole block on its own grid (no pre-shift), the over-range outputs' largest weights in the side
     * list, instead of cutting every block of the layer in halves (half the widenings).
     */
    private static Int16Plan spanning(long[] v, double[] scale, long[] l1, int n, int k, int bs, int nb, int group, double[] gs, int minM) {
        for (int m = Math.min(MAX_SPAN_BLOCKS, group); m >= minM; m--) {
            if (group % m != 0) continue;
            Int16Plan p = spanning(v, scale, l1, n, k, bs, nb, group, gs, m, v.length / 256);
            if (p != null) return p;
        }
        return null;
    }

    private static Int16Plan spanning(long[] v, double[] scale, long[] l1, int n, int k, int bs, int nb, int group, double[] gs, int m, int budget) {
        int chunk = m * bs, units = (k + chunk - 1) / chunk;
        short[] w = new short[planeLength(n, k)];
        int[] shifts = new int[units * n];
        int[] echunks = new int[units * n]; // each (unit, output)'s exponent, for every weight below
        boolean[] side = new boolean[v.length];
        int count = 0;
        boolean[] live = new boolean[n];
        long[] plane = new long[n];
        long[] keys = new long[chunk];
        int[] up = new int[m * n]; // the unit's pre-shift of each (block, output): e_b - e_chunk
        for (int u = 0; u < units; u++) {
            int c0 = u * chunk, c1 = Math.min(k, c0 + chunk), b0 = c0 / bs, b1 = Math.min(nb, b0 + m);
            unitExponents(scale, l1, gs, n, u, b0, b1, b0 / group, echunks, shifts, live, plane);
            unitShifts(scale, echunks, u, n, b0, b1, up);
            count += planeUnit(v, n, c0, c1, b0, bs, up, live, side, plane);
            count = evictOverfull(v, n, c0, c1, b0, bs, up, live, side, plane, keys, count, budget);
            if (count < 0) return null;
        }
        int[] start = new int[k + 1], sparseN = new int[count], sparseV = new int[count];
        count = 0;
        for (int u = 0; u < units; u++) {
            int b0 = u * m;
            unitShifts(scale, echunks, u, n, b0, Math.min(nb, b0 + m), up);
            count = splitUnit(v, n, k, u * chunk, Math.min(k, (u + 1) * chunk), b0, bs, up, side, w, start, sparseN, sparseV, count);
        }
        start[k] = count;
        return new Int16Plan(w, count == 0 ? null : Sparse.indexed(start, sparseN, sparseV, n, group * bs), chunk, chunk, group, shifts, gs);
    }

    // The steps of spanning() are methods of their own on purpose: each holds one loop over a unit's outputs or
    // columns, so C2 compiles these small methods early, instead of compiling the whole of spanning() again and again
    // on stack replacement, once for each of its loops (six C2 compilations of 20-22 KB each in a fresh
    // qbridge run, BENCHMARKS.md §1b).

    /**
     * Unit u's exponent of each output (the finest grid among its blocks [b0, b1) that hold a non-zero weight), whether
     * the output has any non-zero weight there (all zero: plane 0, shift 0), its shift onto group g's grid, and its
     * plane sum reset.
     */
    private static void unitExponents(double[] scale, long[] l1, double[] gs, int n, int u, int b0, int b1, int g, int[] echunks, int[] shifts,
                                      boolean[] live, long[] plane) {
        for (int j = 0; j < n; j++) {
            int echunk = groupMinExponent(scale, l1, n, j, b0, b1);
            echunks[u * n + j] = echunk;
            boolean any = false;
            for (int b = b0; b < b1; b++) any |= l1[b * n + j] != 0;
            live[j] = any;
            if (any) shifts[u * n + j] = echunk - Math.getExponent(gs[g * n + j]);
            plane[j] = 0;
        }
    }

    /**
     * The unit [c0, c1)'s columns into the plane sums, column after column (v is [K][N], so a column's outputs are
     * contiguous; output after output, each over its chunk's columns, strode N longs a weight and was half of a
     * MicroScopiQ layer's load time): each live output's pre-shifted magnitude is added to
     * {@code plane[j]}, or, above the first threshold, marked for the side list. Returns how many were marked.
     */
    private static int planeUnit(long[] v, int n, int c0, int c1, int b0, int bs, int[] up, boolean[] live, boolean[] side, long[] plane) {
        int marked = 0;
        for (int c = c0; c < c1; c++) {
            int vo = c * n, uo = (c / bs - b0) * n;
            for (int j = 0; j < n; j++) {
                if (!live[j]) continue;
                long a = Math.abs(v[vo + j]) << up[uo + j];
                if (a > SPARSE_THRESHOLDS[0]) {
                    side[vo + j] = true;
                    marked++;
                } else {
                    plane[j] += a;
                }
            }
        }
        return marked;
    }

    /**
     * Every live output of the unit [c0, c1) whose plane does not fit 16 bits: its largest plane weights leave it,
     * largest first and the first column among equals, until the rest fits (sorted once as (magnitude, c1 - 1 - c)
     * keys, the largest key first). Returns the side list's new count, or -1 once it exceeds {@code budget} (the
     * count only grows: the same verdict as checking at the end).
     */
    private static int evictOverfull(long[] v, int n, int c0, int c1, int b0, int bs, int[] up, boolean[] live, boolean[] side, long[] plane,
                                     long[] keys, int count, int budget) {
        for (int j = 0; j < n; j++) {
            if (!live[j] || plane[j] * ActivationQuantizer.QMAX <= INT16_MAX) continue;
            int cands = 0;
            for (int c = c0; c < c1; c++) {
                if (side[c * n + j]) continue;
                long a = Math.abs(v[c * n + j]) << up[(c / bs - b0) * n + j];
                if (a != 0) keys[cands++] = a << 32 | (c1 - 1 - c);
            }
            java.util.Arrays.sort(keys, 0, cands);
            for (int t = cands - 1; plane[j] * ActivationQuantizer.QMAX > INT16_MAX; t--) {
                side[(c1 - 1 - (int) keys[t]) * n + j] = true;
                plane[j] -= keys[t] >>> 32;
                count++;
            }
            if (count > budget) return -1;
        }
        return count;
    }

    /**
     * The unit [c0, c1)'s pre-shifted weights into the 16-bit plane {@code w}, or, where marked, the side list from
     * entry {@code count} on (column c's entries from {@code start[c]}). Returns the side list's new length.
     */
    private static int splitUnit(long[] v, int n, int k, int c0, int c1, int b0, int bs, int[] up, boolean[] side, short[] w, int[] start, int[] sparseN, int[] sparseV,
                                 int count) {
        for (int c = c0; c < c1; c++) {
            start[c] = count;
            int vo = c * n, uo = (c / bs - b0) * n;
            for (int j = 0; j < n; j++) {
                long x = v[vo + j];
                if (x == 0) continue;
                long shifted = x << up[uo + j];
                if (side[vo + j]) { sparseN[count] = j; sparseV[count++] = Math.toIntExact(shifted); }
                else w[index(k, c, j)] = (short) shifted;
            }
        }
        return count;
    }

    /**
     * The weights above the threshold in magnitude (the side list), grouped by the kernel's group of blocks (the
     * columns one 32-bit accumulator sums) and by slab of {@link #SLAB} outputs (one short vector), so a tile reads
     * exactly its own entries, once a group: those of group {@code g} and slabs [s0, s0 + nv) are
     * [start[g * slabs + s0], start[g * slabs + s0 + nv]), each with its column, output and value. (Before this index
     * every tile scanned all side-list columns; then, indexed by chunk, a tile looked up its entries once a chunk,
     * mostly to find none: 2 % of a MicroScopiQ layer for a few dozen entries. Integer adds into the group's sums
     * give the same sums in any order.)
     */
    record Sparse(int slabs, int[] start, int[] col, int[] n, int[] value) {
        /** Outputs per slab: the INT16 kernel's short vector length. */
        static final int SLAB = jdk.incubator.vector.ShortVector.SPECIES_PREFERRED.length();

        /** The index of the entries of group {@code g} and slab {@code s} in {@link #start}. */
        int cell(int g, int s) {
            return g * slabs + s;
        }

        /**
         * Re-sorts per-column lists (entries [byCol[c], byCol[c+1]) of column c) by (group, slab), keeping column order
         * within; {@code span} is the columns of one group ({@code group * blockSize}): column c is in group c / span.
         */
        static Sparse indexed(int[] byCol, int[] on, int[] val, int nOut, int span) {
            int k = byCol.length - 1, slabs = (nOut + SLAB - 1) / SLAB;
            int cells = (k + span - 1) / span * slabs, count = on.length;
            int[] start = new int[cells + 1];
            for (int c = 0; c < k; c++)
                for (int e = byCol[c]; e < byCol[c + 1]; e++) start[c / span * slabs + on[e] / SLAB + 1]++;
            for (int i = 0; i < cells; i++) start[i + 1] += start[i];
            int[] fill = java.util.Arrays.copyOf(start, cells), col = new int[count], n = new int[count], value = new int[count];
            for (int c = 0; c < k; c++)
                for (int e = byCol[c]; e < byCol[c + 1]; e++) {
                    int at = fill[c / span * slabs + on[e] / SLAB]++;
                    col[at] = c;
                    n[at] = on[e];
                    value[at] = val[e];
                }
            return new Sparse(slabs, start, col, n, value);
        }
    }

    /**
     * Weights whose magnitude exceeds the threshold leave the 16-bit plane (it holds 0 there) for a short side
     * list added in 32-bit arithmetic: MicroScopiQ's merged outliers can reach 2^10 and would otherwise force a
     * whole layer out of 16-bit lanes. 258 is the largest magnitude whose product with 127 fits 16 bits.
     */
    private static final long[] SPARSE_THRESHOLDS = {258, 64};

    /** The longest chunk (bs, ceil(bs/2), ...; at least MIN_CHUNK or bs) whose 16-bit plane sums fit, or -1. */
    private static int chunkLength(long[] v, int n, int k, int bs, long threshold) {
        for (int p = bs; ; p = (p + 1) / 2) {
            if (maxChunkL1(v, n, k, bs, p, threshold) * ActivationQuantizer.QMAX <= INT16_MAX) return p;
            if (p <= Math.min(bs, MIN_CHUNK) || p == 1) return -1;
        }
    }

    private static long maxChunkL1(long[] v, int n, int k, int bs, int p, long threshold) {
        long[] acc = new long[n];
        long max = 0;
        for (int c = 0; c < k; c++) {
            if ((c % bs) % p == 0) java.util.Arrays.fill(acc, 0);
            for (int j = 0; j < n; j++) {
                long x = Math.abs(v[c * n + j]);
                long a = acc[j] += x > threshold ? 0 : x;
                if (a > max) max = a;
            }
        }
        return max;
    }

    private static boolean powersOfTwo(double[] scale) {
        for (double s : scale)
            if (!(s > 0 && s < Double.POSITIVE_INFINITY && s == Math.scalb(1.0, Math.getExponent(s)) && Math.getExponent(s) >= Double.MIN_EXPONENT))
                return false;
        return true;
    }

    /** Every output's exact fp64 block sum: all partial sums are multiples of 2^e_min below 2^52 of it. */
    private static boolean rowsSumExactly(double[] scale, long[] l1, int n, int nb) {
        for (int j = 0; j < n; j++) {
            int emin = groupMinExponent(scale, l1, n, j, 0, nb);
            double r = 0;
            for (int b = 0; b < nb; b++) {
                if (l1[b * n + j] == 0) continue;
                int sh = Math.getExponent(scale[b * n + j]) - emin;
                if (sh > 60) return false;
                r += Math.scalb((double) l1[b * n + j] * ActivationQuantizer.QMAX, sh);
            }
            if (r >= 0x1p52) return false;
        }
        return true;
    }

    /**
     * {@code up[(b - b0) * n + j] = e_b - e_chunk}: the left shift that puts a weight of block b and output j on the
     * grid of unit u's chunk (exponent {@code echunks[u * n + j]}), for the blocks [b0, b1) of the unit. A zero
     * weight stays 0 under any shift, so the blocks holding only zeros need no care.
     */
    private static void unitShifts(double[] scale, int[] echunks, int u, int n, int b0, int b1, int[] up) {
        for (int b = b0; b < b1; b++)
            for (int j = 0; j < n; j++) up[(b - b0) * n + j] = Math.getExponent(scale[b * n + j]) - echunks[u * n + j];
    }

    /** The finest grid among the blocks of [b0, b1) of output j that hold a non-zero weight (0 if none). */
    private static int groupMinExponent(double[] scale, long[] l1, int n, int j, int b0, int b1) {
        int emin = Integer.MAX_VALUE;
        for (int b = b0; b < b1; b++)
            if (l1[b * n + j] != 0) emin = Math.min(emin, Math.getExponent(scale[b * n + j]));
        return emin == Integer.MAX_VALUE ? 0 : emin;
    }

    /** The largest power-of-two number of blocks (or all of them) whose shifted sums fit one int32 accumulator everywhere. */
    private static int largestGroup(double[] scale, long[] l1, int n, int nb) {
        int best = 1;
        for (int size = 2; best < nb; size *= 2) {
            int sz = Math.min(size, nb);
            if (!groupsFit(scale, l1, n, nb, sz)) break;
            best = sz;
        }
        return best;
    }

    private static boolean groupsFit(double[] scale, long[] l1, int n, int nb, int size) {
        for (int g0 = 0; g0 < nb; g0 += size)
            for (int j = 0; j < n; j++) {
                int emin = groupMinExponent(scale, l1, n, j, g0, Math.min(nb, g0 + size));
                long sum = 0;
                for (int b = g0; b < Math.min(nb, g0 + size); b++) {
                    long a = l1[b * n + j] * ActivationQuantizer.QMAX;
                    if (a == 0) continue;
                    int sh = Math.getExponent(scale[b * n + j]) - emin;
                    if (sh > 30 || a > (Integer.MAX_VALUE >> sh)) return false;
                    sum += a << sh;
                    if (sum > Integer.MAX_VALUE) return false;
                }
            }
        return true;
    }
}
