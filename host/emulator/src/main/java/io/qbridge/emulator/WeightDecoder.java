package io.qbridge.emulator;

import io.qbridge.device.PerformanceModel.LayerProfile;
import io.qbridge.format.FineQFormat;
import io.qbridge.format.FpElement;
import io.qbridge.format.IntGroupFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.MxFormat;
import io.qbridge.format.MxInt;
import io.qbridge.format.PackedTensor;

/**
 * The decode stage: reads a packed byte image ({@code docs/formats.md}) and turns every weight into an
 * integer on its block's fixed point. It never calls the format's float dequantization; the proof that
 * the two agree is the emulator's test.
 *
 * <ul>
 *   <li>INT group: the code (signed for symmetric, unsigned for asymmetric); scale = fp16 s; zero = fp16 z.</li>
 *   <li>MX-INT8: the two's complement code k; scale = 2^(X - 6).</li>
 *   <li>MX-FP: sign, exponent E, mantissa M become the integer +-(E = 0 ? M : (2^m + M) * 2^(E-1)) on the
 *       element's subnormal grid 2^(1-bias-m); scale = 2^(X + 1 - bias - m).</li>
 *   <li>MicroScopiQ: e1 is the block's inlier exponent (its macro-block's E8M0 exponent minus the block's inlier
 *       offset); inliers k on 2^(e1 + 2 - b); each outlier's 2b-bit code is reassembled from its own slot
 *       (upper half) and its pruned slot (lower half), decoded to a signed significand, split into the two b-bit
 *       PE operands and merged by {@link ReconMerge}; the block fixed point is the finer of the inlier and
 *       outlier grids; the pruned slot contributes 0.</li>
 *   <li>FineQ: word index and fields decoded; a field with sign s and magnitude m is the odd integer
 *       (-1)^s (2m + 1) on the grid s/2; the pruned position is 0.</li>
 * </ul>
 */
public final class WeightDecoder {
    private WeightDecoder() {}

    /** The performance-model profile of a packed layer: its outliers and pulses counted by decoding it, as the emulator does at load. */
    public static LayerProfile profile(PackedTensor p) {
        return decode(p).profile(p.bytes().length);
    }

    public static DecodedWeights decode(PackedTensor p) {
        return switch (p.format()) {
            case IntGroupFormat f -> intGroup(f, p);
            case MxFormat f -> mx(f, p);
            case MicroScopiQFormat f -> microScopiQ(f, p);
            case FineQFormat f -> fineQ(f, p);
            case io.qbridge.format.LoBcqFormat f -> LoBcqWeights.decode(p).toDecoded();
        };
    }

    /**
     * LSB-first field read (docs/formats.md §0) of {@code width} <= 32 bits: the bytes the field touches, and only
     * those, as one little-endian integer (a load's decode read every weight bit by bit before, a fifth of it).
     */
    static int field(byte[] b, long bit, int width) {
        if (width == 0) return 0;
        int at = (int) (bit >>> 3), sh = (int) (bit & 7), bytes = (sh + width + 7) >>> 3;
        long w = 0;
        for (int i = 0; i < bytes; i++) w |= (long) (b[at + i] & 0xFF) << (8 * i);
        return (int) ((w >>> sh) & (-1L >>> (64 - width)));
    }

    static int signExtend(int v, int width) {
        return (v << (32 - width)) >> (32 - width);
    }

    static double fp16(byte[] b, int off) {
        return Float.float16ToFloat((short) ((b[off] & 0xFF) | (b[off + 1] << 8)));
    }

    /** Accumulates the per-block L1 norms while values are filled in, so the bound is exact. */
    private static final class Builder {
        final int n, k, bs, nb;
        final long[] values;
        final double[] scale;
        final long[] l1;
        long outliers, pulses;

        Builder(int n, int k, int bs) {
            this.n = n;
            this.k = k;
            this.bs = bs;
            nb = (k + bs - 1) / bs;
            values = new long[n * k];
            scale = new double[nb * n];
            l1 = new long[nb * n];
        }

        void set(int row, int col, long v) {
            values[col * n + row] = v;
            l1[(col / bs) * n + row] += Math.abs(v);
        }

        DecodedWeights build(io.qbridge.format.QuantFormat f, double[] zero) {
            long max = 0;
            for (long v : l1) max = Math.max(max, v);
            return new DecodedWeights(f, n, k, bs, values, scale, zero, max, outliers, pulses);
        }

        /**
         * For power-of-two block scales: moves each block's common trailing zero bits from the integers into
         * the scale (w * 2^L == (w >> t) * 2^(L + t) exactly). The values and every p_b are unchanged; the
         * integers get smaller, so the host can sum them in fp32 exactly (MicroScopiQ outliers, E4M3/E5M2
         * elements sit high on their fine grids). The hardware keeps the fixed grid of docs/emulator.md §2.
         */
        DecodedWeights buildNormalized(io.qbridge.format.QuantFormat f) {
            long max = 0;
            for (int b = 0; b < nb; b++) {
                int c0 = b * bs, c1 = Math.min(k, c0 + bs);
                for (int r = 0; r < n; r++) {
                    int tz = 63;
                    for (int c = c0; c < c1; c++) {
                        long v = values[c * n + r];
                        if (v != 0) tz = Math.min(tz, Long.numberOfTrailingZeros(v));
                    }
                    long sum = 0;
                    if (tz == 63) tz = 0; // an all-zero block
                    for (int c = c0; c < c1; c++) {
                        long v = values[c * n + r] >> tz;
                        values[c * n + r] = v;
                        sum += Math.abs(v);
                    }
                    if (tz > 0) scale[b * n + r] = Math.scalb(scale[b * n + r], tz);
                    max = Math.max(max, sum);
                }
            }
            return new DecodedWeights(f, n, k, bs, values, scale, null, max, outliers, pulses);
        }
    }

    private static DecodedWeights intGroup(IntGroupFormat f, PackedTensor p) {
        int n = p.n(), k = p.k(), b = f.bits(), g = f.groupSize(), ng = f.groups(k);
        int rowBytes = (int) (((long) k * b + 7) / 8);
        byte[] in = p.bytes();
        Builder out = new Builder(n, k, g);
        int scaleOff = n * rowBytes, zeroOff = scaleOff + 2 * n * ng;
        double[] zero = f.symmetric() ? null : new double[ng * n];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                int code = field(in, (long) r * rowBytes * 8 + (long) c * b, b);
                out.set(r, c, f.symmetric() ? signExtend(code, b) : code);
            }
            for (int gi = 0; gi < ng; gi++) {
                double s = fp16(in, scaleOff + 2 * (r * ng + gi));
                if (!Double.isFinite(s)) throw new IllegalArgumentException(f.id() + ": scale of row " + r + ", group " + gi + " is " + s);
                out.scale[gi * n + r] = s;
                if (zero != null) {
                    double z = fp16(in, zeroOff + 2 * (r * ng + gi));
                    if (!Double.isFinite(z)) throw new IllegalArgumentException(f.id() + ": zero point of row " + r + ", group " + gi + " is " + z);
                    zero[gi * n + r] = z;
                }
            }
        }
        return out.build(f, zero);
    }

    /** Integer value of an MX element on its subnormal grid, or Long.MIN_VALUE for NaN/Inf codes. */
    static long elementInteger(FpElement e, int code) {
        long sig = FpFixedPoint.significand(e, code);
        return sig == Long.MIN_VALUE ? sig : sig << FpFixedPoint.exponentShift(e, code);
    }

    private static DecodedWeights mx(MxFormat f, PackedTensor p) {
        int n = p.n(), k = p.k(), eb = f.element().bits(), bs = f.blockSize(), nb = f.blocks(k);
        int rowBytes = (int) (((long) k * eb + 7) / 8);
        byte[] in = p.bytes();
        Builder out = new Builder(n, k, bs);
        int grid = f.element() instanceof FpElement fe ? FpFixedPoint.gridExponent(fe) : -6; // MX-INT8: k * 2^-6
        for (int r = 0; r < n; r++) {
            for (int bi = 0; bi < nb; bi++) {
                int sc = in[n * rowBytes + r * nb + bi] & 0xFF;
                boolean nan = sc == 0xFF;
                out.scale[bi * n + r] = nan ? Double.NaN : Math.scalb(1.0, sc - 127 + grid);
                for (int c = bi * bs; c < Math.min(k, (bi + 1) * bs); c++) {
                    int code = field(in, (long) r * rowBytes * 8 + (long) c * eb, eb);
                    long v = switch (f.element()) {
                        case MxInt i -> signExtend(code, i.bits());
                        case FpElement fe -> elementInteger(fe, code);
                    };
                    if (v == Long.MIN_VALUE) {
                        if (!nan) throw new IllegalArgumentException(f.id() + ": element code 0x" + Integer.toHexString(code) + " at row " + r + ", column " + c
                                + " is NaN/Inf; the integer datapath has no special element values");
                        v = 0;
                    }
                    out.set(r, c, nan ? 0 : v);
                }
            }
        }
        return out.buildNormalized(f);
    }

    private static DecodedWeights microScopiQ(MicroScopiQFormat f, PackedTensor p) {
        int n = p.n(), nb = p.k() / f.blockSize();
        Builder out = new Builder(n, p.k(), f.blockSize());
        MicroScopiQBlocks blocks = new MicroScopiQBlocks(f, p, out);
        for (int r = 0; r < n; r++)
            for (int bi = 0; bi < nb; bi++) blocks.decode(r, bi);
        return out.buildNormalized(f);
    }

    /**
     * The decoding of one MicroScopiQ block at a time, its format's constants and scratch arrays held here. A block
     * is the unit of work on purpose: a layer's load calls {@link #decode} n x K/bs times, so C2 compiles this
     * small method once, early, instead of compiling the whole row-and-block loop nest again and again on stack
     * replacement (five C2 compilations of 20-26 KB each in a fresh {@code qbridge run}, BENCHMARKS.md §1b).
     */
    private static final class MicroScopiQBlocks {
        final MicroScopiQFormat f;
        final byte[] in;
        final Builder out;
        final int n, b, bs, c, l2, g, ib, pb, m, slotBytes, metaBytes, outGrid, inGrid;
        final FpElement oe;
        final int[] slot, shift;
        final long[] val;
        final boolean[] isOutlier, pruned;

        MicroScopiQBlocks(MicroScopiQFormat f, PackedTensor p, Builder out) {
            this.f = f;
            this.in = p.bytes();
            this.out = out;
            n = p.n();
            b = f.bits();
            bs = f.blockSize();
            c = f.maxOutliers();
            l2 = f.level2Bits();
            g = f.macroBlocks();
            ib = f.inlierOffsetBits();
            pb = 32 - Integer.numberOfLeadingZeros(bs - 1);
            m = f.blockMetadataBits();
            int nb = p.k() / bs, nm = (nb + g - 1) / g;
            slotBytes = p.k() * b / 8;
            metaBytes = (int) ((8L * nm + (long) nb * m + 7) / 8);
            oe = f.outlierElement();
            outGrid = FpFixedPoint.gridExponent(oe);
            inGrid = 2 - b;
            slot = new int[bs];
            val = new long[bs];
            shift = new int[bs];
            isOutlier = new boolean[bs];
            pruned = new boolean[bs];
        }

        /** Block {@code bi} of row {@code r} into the builder: its integers, its scale and its outlier count. */
        void decode(int r, int bi) {
            long rowMeta = (long) n * slotBytes * 8 + (long) r * metaBytes * 8;
            for (int j = 0; j < bs; j++) slot[j] = field(in, (long) r * slotBytes * 8 + (long) (bi * bs + j) * b, b);
            // docs/formats.md §4: macro-block record = e1 (8 bits), then G block records of m bits each.
            long macro = rowMeta + (long) (bi / g) * (8 + (long) g * m);
            long meta = macro + 8 + (long) (bi % g) * m;
            int e1c = field(in, macro, 8);
            if (e1c == 0xFF) throw new IllegalArgumentException(f.id() + ": row " + r + ", block " + bi + " has the NaN level-1 exponent 0xFF");
            // e1: this block's inlier exponent (macro-block e1 minus the block's inlier offset); d: level-2 field + bias.
            int e1 = e1c - 127 - field(in, meta, ib), d = signExtend(field(in, meta + ib, l2), l2) + f.level2Bias();
            long pairs = meta + ib + l2;
            java.util.Arrays.fill(isOutlier, false);
            java.util.Arrays.fill(pruned, false);
            int used = 0;
            int minExp = e1 + inGrid;
            for (int j = 0; j < c; j++) {
                int o = field(in, pairs + 2L * pb * j, pb), q = field(in, pairs + 2L * pb * j + pb, pb);
                if (o == q) continue;
                if (o >= bs || q >= bs || isOutlier[o] || pruned[o] || isOutlier[q] || pruned[q])
                    throw new IllegalArgumentException(f.id() + ": row " + r + ", block " + bi + " has an invalid outlier pair (" + o + ", " + q + ")");
                isOutlier[o] = true;
                pruned[q] = true;
                int code = slot[o] << b | slot[q];
                long sig = FpFixedPoint.significand(oe, code);
                if (sig == Long.MIN_VALUE) throw new IllegalArgumentException(f.id() + ": outlier code 0x" + Integer.toHexString(code) + " at row " + r
                        + ", column " + (bi * bs + o) + " is NaN");
                // The outlier is sig * 2^(expShift) on the grid 2^(e1 + d + outGrid).
                val[o] = sig;
                shift[o] = FpFixedPoint.exponentShift(oe, code);
                minExp = Math.min(minExp, e1 + d + outGrid);
                used++;
            }
            out.outliers += used;
            out.scale[bi * n + r] = Math.scalb(1.0, minExp);
            for (int j = 0; j < bs; j++) {
                long v;
                if (isOutlier[j]) v = ReconMerge.merge(val[j], b, shift[j] + (e1 + d + outGrid - minExp));
                else if (pruned[j]) v = 0;
                else v = (long) signExtend(slot[j], b) << (e1 + inGrid - minExp);
                out.set(r, bi * bs + j, v);
            }
        }
    }

    private static DecodedWeights fineQ(FineQFormat f, PackedTensor p) {
        int n = p.n(), k = p.k(), g = f.groupSize(), ng = f.groups(k), wr = f.wordsPerRow(k), cpg = (g + 2) / 3;
        byte[] in = p.bytes();
        Builder out = new Builder(n, k, g);
        for (int r = 0; r < n; r++) {
            for (int gi = 0; gi < ng; gi++) {
                double s = fp16(in, n * wr + 2 * (r * ng + gi));
                if (!Double.isFinite(s)) throw new IllegalArgumentException(f.id() + ": scale of row " + r + ", group " + gi + " is " + s);
                out.scale[gi * n + r] = s / 2; // (m + 0.5) s = (2m + 1) (s / 2), exact
            }
            for (int col = 0; col < k; col++) {
                int word = in[r * wr + (col / g) * cpg + (col % g) / 3] & 0xFF;
                long v = fineQValue(word, (col % g) % 3);
                out.set(r, col, v);
                if (v != 0) out.pulses += (Math.abs(v) + 1) / 2; // m + 1 pulses: m for the magnitude, 1 for the half step
            }
        }
        return out.build(f, null);
    }

    /** The odd integer (-1)^s (2m + 1) of cluster position {@code pos} in a FineQ word, 0 if pruned. */
    static long fineQValue(int word, int pos) {
        int idx = word >>> 6, data = word & 0x3F;
        if (idx == 0) {
            int fld = (data >>> (2 * pos)) & 3; // sign bit 1, magnitude bit 0
            return ((fld & 2) != 0 ? -1 : 1) * (2L * (fld & 1) + 1);
        }
        int prunedPos = idx - 1;
        if (pos == prunedPos) return 0;
        // The two kept positions in ascending order: A (bits 2..0), B (bits 5..3).
        int lower = prunedPos == 0 ? 1 : 0;
        int fld = (data >>> (pos == lower ? 0 : 3)) & 7; // sign bit 2, magnitude bits 1..0
        return ((fld & 4) != 0 ? -1 : 1) * (2L * (fld & 3) + 1);
    }
}
