package io.qbridge.format;

import java.util.Arrays;
import java.util.Locale;

/**
 * MicroScopiQ (ISCA 2025) with Qbridge's choices as named fields; the byte image is {@code docs/formats.md} §4.
 *
 * <ul>
 *   <li>{@code bits} b: inlier slot width; inliers are MX-INT b ({@link MxInt}).</li>
 *   <li>{@code blockSize} B (16): blocks run along K <b>(ours)</b>; K must be a multiple of B. Outlier and
 *       pruned decisions, the level-2 offset and the pairs are per block.</li>
 *   <li>{@code macroBlocks} G <b>(ours)</b>: the E8M0 level-1 (inlier) exponent e1 is shared by G consecutive
 *       blocks (a macro-block of G*B columns; the last macro-block of a row may hold fewer blocks). G = 1 is
 *       the per-block scale of the first layout.</li>
 *   <li>{@code maxOutliers} C <b>(ours)</b>: (outlier, pruned) pairs stored per block (a pair with equal
 *       positions is unused).</li>
 *   <li>{@code outlierSigma} k: outlier when |w| > mean(|w|) + k * std(|w|) over the block (<b>ours</b>: on
 *       |w|, std with the n-1 denominator as torch.std); the largest ones win when more than C qualify, the
 *       rest are quantized as (saturating) inliers.</li>
 *   <li>{@code outlierElement}: the 2b-bit MX-FP outlier element (W2: E2M1, W4: E4M3 <b>(ours)</b>).</li>
 *   <li>{@code inlierOffsetBits} I <b>(ours)</b>: per-block unsigned offset o, the block's inlier exponent is
 *       e1 - o (finer than the macro-block's when the block's inliers are small); 0 = no field.</li>
 *   <li>{@code level2Bits} L and {@code level2Bias} <b>(ours)</b>: the outliers' exponent is (e1 - o) + d with
 *       d = bias + s, s an L-bit two's complement field. The bias centres the field on where d falls on real
 *       weights (W4 with E4M3 outliers far below the INT4 exponent, W2 with E2M1 near it).</li>
 * </ul>
 * Pruned slots: the lowest importance w^2/d_kk^2 (w^2 for RTN) among non-outliers, ties to the lower
 * position. Pairing <b>(ours)</b>: outliers in ascending position take pruned slots in ascending position.
 * The upper b bits of an outlier's code stay in its slot, the lower b bits go to its pruned slot.
 */
public record MicroScopiQFormat(int bits, int blockSize, int macroBlocks, int maxOutliers, double outlierSigma, FpElement outlierElement,
                                int inlierOffsetBits, int level2Bits, int level2Bias) implements QuantFormat {
    /**
     * Default W4: INT4/E4M3, blocks of 16, e1 per 128 columns; per block one pair, a 1-bit inlier offset and a 2-bit
     * level-2 offset with bias -7 (d in [-9, -6], where E4M3 outliers fall on real weights): 4.75 bits/weight.
     */
    public static final MicroScopiQFormat W4 = new MicroScopiQFormat(4, 16, 8, 1, 2.0, FpElement.E4M3, 1, 2, -7);
    /** Default W2: INT2/E2M1, the same layout with bias -1 (d in [-3, 0]): 2.75 bits/weight. */
    public static final MicroScopiQFormat W2 = new MicroScopiQFormat(2, 16, 8, 1, 2.0, FpElement.E2M1, 1, 2, -1);
    /** The first, per-block layout (e1 per block, 4 pairs, 4-bit unbiased d): 6.75 bits/weight. */
    public static final MicroScopiQFormat W4_C4 = perBlock(4, 16, 4, 2.0, FpElement.E4M3, 4);
    /** The first layout at W2: 4.75 bits/weight. */
    public static final MicroScopiQFormat W2_C4 = perBlock(2, 16, 4, 2.0, FpElement.E2M1, 4);

    public MicroScopiQFormat {
        if (bits != 2 && bits != 4) throw new IllegalArgumentException("MicroScopiQ inlier bits must be 2 or 4, got " + bits);
        if (outlierElement == null || outlierElement.bits() != 2 * bits)
            throw new IllegalArgumentException("outlier element must have 2*bits = " + 2 * bits + " bits, got " + outlierElement);
        if (blockSize < 2 || blockSize > 256) throw new IllegalArgumentException("block size must be in [2, 256], got " + blockSize);
        if (macroBlocks < 1 || macroBlocks > 4096) throw new IllegalArgumentException("macroBlocks (blocks sharing one level-1 exponent) must be in [1, 4096], got " + macroBlocks);
        if (maxOutliers < 0 || 2 * maxOutliers > blockSize)
            throw new IllegalArgumentException("maxOutliers must be in [0, blockSize/2] (each outlier needs a pruned slot), got " + maxOutliers);
        if (!(outlierSigma >= 0) || Double.isInfinite(outlierSigma)) throw new IllegalArgumentException("outlierSigma must be finite and >= 0, got " + outlierSigma);
        if (inlierOffsetBits < 0 || inlierOffsetBits > 4) throw new IllegalArgumentException("inlierOffsetBits must be in [0, 4], got " + inlierOffsetBits);
        if (level2Bits < 1 || level2Bits > 8) throw new IllegalArgumentException("level2Bits must be in [1, 8], got " + level2Bits);
        if (level2Bias < -64 || level2Bias > 64) throw new IllegalArgumentException("level2Bias must be in [-64, 64], got " + level2Bias);
    }

    /** The first layout's configuration family: one E8M0 exponent per block, no inlier offset, unbiased d. */
    public static MicroScopiQFormat perBlock(int bits, int blockSize, int maxOutliers, double outlierSigma, FpElement outlierElement, int level2Bits) {
        return new MicroScopiQFormat(bits, blockSize, 1, maxOutliers, outlierSigma, outlierElement, 0, level2Bits, 0);
    }

    @Override
    public String id() {
        String base = "microscopiq-w" + bits;
        if (equals(bits == 4 ? W4 : W2)) return base;
        if (equals(bits == 4 ? W4_C4 : W2_C4)) return base + "-c4";
        String elem = outlierElement.name().toLowerCase(Locale.ROOT);
        if (macroBlocks == 1 && inlierOffsetBits == 0 && level2Bias == 0) // the first layout's names, still accepted
            return base + "-b" + blockSize + "-o" + maxOutliers + "-s" + outlierSigma + "-" + elem + "-l" + level2Bits;
        return base + "-b" + blockSize + "-m" + macroBlocks + "-o" + maxOutliers + "-s" + outlierSigma + "-" + elem + "-i" + inlierOffsetBits
                + "-l" + level2Bits + "b" + level2Bias;
    }

    /** Bits of a block position. */
    int posBits() {
        return 32 - Integer.numberOfLeadingZeros(blockSize - 1);
    }

    /** Metadata bits per block, excluding the macro-block's e1: inlier offset + level-2 field + C pairs. */
    public int blockMetadataBits() {
        return inlierOffsetBits + level2Bits + maxOutliers * 2 * posBits();
    }

    /** Columns per macro-block (G*B). */
    public int macroColumns() {
        return macroBlocks * blockSize;
    }

    /** Macro-blocks per row: ceil(K / (G*B)); the last one holds the remaining K/B mod G blocks if that is not 0. */
    public int macroBlocksPerRow(int k) {
        return Shapes.ceilDiv(k / blockSize, macroBlocks);
    }

    /** Smallest and largest level-2 offset d the field can hold: bias - 2^(L-1) and bias + 2^(L-1) - 1. */
    public int level2Min() { return level2Bias - (1 << (level2Bits - 1)); }

    public int level2Max() { return level2Bias + (1 << (level2Bits - 1)) - 1; }

    /** Largest per-block inlier offset: 2^I - 1. */
    public int inlierOffsetMax() { return (1 << inlierOffsetBits) - 1; }

    void checkShape(int n, int k) {
        Shapes.check(n, k);
        if (k % blockSize != 0) throw new IllegalArgumentException("k = " + k + " is not a multiple of the block size " + blockSize + " required by " + id());
    }

    int rowSlotBytes(int k) { return (int) Bits.bytesFor((long) k * bits); }

    /** Metadata bits of one row: 8 per macro-block plus blockMetadataBits per block. */
    long rowMetaBits(int k) { return 8L * macroBlocksPerRow(k) + (long) (k / blockSize) * blockMetadataBits(); }

    int rowMetaBytes(int k) { return (int) Bits.bytesFor(rowMetaBits(k)); }

    /** Bit offset, inside a row's metadata stream, of macro-block m's e1 field. */
    long macroBitOffset(int m) { return (long) m * (8 + (long) macroBlocks * blockMetadataBits()); }

    /** Bit offset, inside a row's metadata stream, of block b's fields (after its macro-block's e1). */
    long blockBitOffset(int b) { return macroBitOffset(b / macroBlocks) + 8 + (long) (b % macroBlocks) * blockMetadataBits(); }

    @Override
    public long packedBytes(int n, int k) {
        checkShape(n, k);
        return (long) n * (rowSlotBytes(k) + rowMetaBytes(k));
    }

    @Override
    public PackedTensor pack(QuantizedTensor q) {
        MicroScopiQTensor t = QuantFormats.cast(this, q, MicroScopiQTensor.class);
        int n = t.n(), k = t.k(), nb = k / blockSize, nm = macroBlocksPerRow(k), sb = rowSlotBytes(k), mb = rowMetaBytes(k), pb = posBits(), c = maxOutliers;
        byte[] out = new byte[(int) packedBytes(n, k)];
        for (int r = 0; r < n; r++)
            for (int col = 0; col < k; col++) Bits.put(out, ((long) r * sb << 3) + (long) col * bits, bits, t.slots()[r * k + col] & ((1 << bits) - 1));
        long base = (long) n * sb << 3;
        for (int r = 0; r < n; r++) {
            long row = base + ((long) r * mb << 3);
            for (int m = 0; m < nm; m++) Bits.put(out, row + macroBitOffset(m), 8, t.inlierScale()[r * nm + m] & 0xFF);
            for (int b = 0; b < nb; b++) {
                int i = r * nb + b;
                long o = row + blockBitOffset(b);
                Bits.put(out, o, inlierOffsetBits, t.inlierOffset()[i]);
                Bits.put(out, o + inlierOffsetBits, level2Bits, t.level2()[i] - level2Bias);
                long p = o + inlierOffsetBits + level2Bits;
                for (int j = 0; j < c; j++, p += 2L * pb) {
                    Bits.put(out, p, pb, t.outlierPos()[i * c + j] & 0xFF);
                    Bits.put(out, p + pb, pb, t.prunedPos()[i * c + j] & 0xFF);
                }
            }
        }
        return new PackedTensor(this, n, k, out);
    }

    @Override
    public MicroScopiQTensor unpackCodes(PackedTensor pt) {
        QuantFormats.checkFormat(this, pt);
        int n = pt.n(), k = pt.k(), nb = k / blockSize, nm = macroBlocksPerRow(k), sb = rowSlotBytes(k), mb = rowMetaBytes(k), pb = posBits(), c = maxOutliers;
        byte[] in = pt.bytes();
        byte[] slots = new byte[n * k], e1 = new byte[n * nm], off = new byte[n * nb], l2 = new byte[n * nb];
        byte[] op = new byte[n * nb * c], pp = new byte[n * nb * c];
        for (int r = 0; r < n; r++)
            for (int col = 0; col < k; col++) slots[r * k + col] = (byte) Bits.get(in, ((long) r * sb << 3) + (long) col * bits, bits);
        long base = (long) n * sb << 3;
        for (int r = 0; r < n; r++) {
            long row = base + ((long) r * mb << 3);
            for (int m = 0; m < nm; m++) e1[r * nm + m] = (byte) Bits.get(in, row + macroBitOffset(m), 8);
            for (int b = 0; b < nb; b++) {
                int i = r * nb + b;
                long o = row + blockBitOffset(b);
                off[i] = (byte) Bits.get(in, o, inlierOffsetBits);
                l2[i] = (byte) (Bits.signExtend(Bits.get(in, o + inlierOffsetBits, level2Bits), level2Bits) + level2Bias);
                long p = o + inlierOffsetBits + level2Bits;
                for (int j = 0; j < c; j++, p += 2L * pb) {
                    op[i * c + j] = (byte) Bits.get(in, p, pb);
                    pp[i * c + j] = (byte) Bits.get(in, p + pb, pb);
                }
            }
        }
        return new MicroScopiQTensor(this, n, k, slots, e1, off, l2, op, pp);
    }

    @Override
    public float[] dequantize(QuantizedTensor q) {
        MicroScopiQTensor t = QuantFormats.cast(this, q, MicroScopiQTensor.class);
        int n = t.n(), k = t.k(), nb = k / blockSize, nm = macroBlocksPerRow(k), c = maxOutliers;
        MxInt inl = new MxInt(bits);
        float[] w = new float[n * k];
        byte[] role = new byte[blockSize];
        for (int r = 0; r < n; r++)
            for (int b = 0; b < nb; b++) {
                int i = r * nb + b, c0 = r * k + b * blockSize, e1c = t.inlierScale()[r * nm + b / macroBlocks] & 0xFF;
                if (e1c == E8M0.NAN) throw new IllegalArgumentException("row " + r + " block " + b + ": NaN inlier scale is not allowed in " + id());
                int eb = e1c - 127 - t.inlierOffset()[i], d = t.level2()[i];
                Arrays.fill(role, (byte) 0);
                for (int j = 0; j < c; j++) {
                    int o = t.outlierPos()[i * c + j] & 0xFF, p = t.prunedPos()[i * c + j] & 0xFF;
                    if (o == p) continue;
                    if (o >= blockSize || p >= blockSize || role[o] != 0 || role[p] != 0)
                        throw new IllegalArgumentException("row " + r + " block " + b + ": invalid or repeated outlier pair (" + o + ", " + p + ")");
                    role[o] = 1;
                    role[p] = 2;
                    w[c0 + o] = outlierValue(((t.slots()[c0 + o] & lowMask()) << bits) | (t.slots()[c0 + p] & lowMask()), eb, d);
                    w[c0 + p] = 0f;
                }
                for (int s = 0; s < blockSize; s++) if (role[s] == 0) w[c0 + s] = inlierValue(inl, t.slots()[c0 + s], eb);
            }
        return w;
    }

    private int lowMask() { return (1 << bits) - 1; }

    /**
     * The outlier exponent of a block whose largest outlier is maxOut: the OCP shared exponent of the outlier
     * element, plus one <b>(ours)</b> when the largest outlier would otherwise saturate (E4M3 would clip
     * [448, 512) by up to 12.5%, E2M1 [6, 8) by 25%).
     */
    int outlierExponent(double maxOut) {
        int eo = E8M0.sharedExponent(maxOut, outlierElement.emax());
        if (Math.scalb(maxOut, -eo) > outlierElement.maxNormal()) eo++;
        return eo;
    }

    /** An inlier: MX-INT code on the block's inlier exponent eb = e1 - o. */
    float inlierValue(MxInt inl, int code, int eb) {
        return (float) Math.scalb(inl.decode(code & lowMask()), eb);
    }

    /** An outlier: the 2b-bit element code on 2^(eb + d). */
    float outlierValue(int code, int eb, int d) {
        return (float) Math.scalb(outlierElement.decode(code), eb + d);
    }

    @Override
    public ColumnQuantizer columnQuantizer(int n, int k) {
        checkShape(n, k);
        return new MicroScopiQQuantizer(this, n, k);
    }
}
