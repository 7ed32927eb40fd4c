package io.qbridge.format;

import java.util.Arrays;

/**
 * MicroScopiQ (spec §2) with Qbridge's choices as named fields.
 *
 * <ul>
 *   <li>{@code bits} b: inlier slot width; inliers are MX-INT b ({@link MxInt}) under a per-block E8M0
 *       level-1 exponent e1 = floor(log2 max|inlier|) (emax of MX-INT is 0).</li>
 *   <li>{@code blockSize} B (16): blocks run along K <b>(ours)</b>; K must be a multiple of B.</li>
 *   <li>{@code maxOutliers} (B/4, <b>ours</b>): capacity of (outlier, pruned) pairs per block.</li>
 *   <li>{@code outlierSigma} (2): outlier when |w| > mean(|w|) + sigma * std(|w|) over the block
 *       (<b>ours</b>: on |w|, std with the n-1 denominator as torch.std); the largest ones win when more
 *       than maxOutliers qualify, the rest are quantized as (saturating) inliers.</li>
 *   <li>{@code outlierElement}: the 2b-bit MX-FP outlier element (W2: E2M1, W4: E4M3 <b>(ours)</b>).</li>
 *   <li>{@code level2Bits} (4, <b>ours</b>): the outliers' scale is 2^(e1 + d) with d a signed
 *       level2Bits-bit offset, d = floor(log2 max|outlier|) - emax_fp - e1 clamped to the field's range;
 *       when d would exceed the range, e1 is raised instead so outliers never saturate because of it.
 *       <b>(ours)</b> If the largest outlier would saturate the element format under the OCP rule
 *       (max|o| / 2^(floor(log2 max|o|) - emax) > max normal), the exponent is raised by one.</li>
 * </ul>
 * Pruned slots: the lowest importance w^2/d_kk^2 (w^2 for RTN) among non-outliers, ties to the lower
 * position. Pairing <b>(ours)</b>: outliers in ascending position take pruned slots in ascending position.
 * The upper b bits of an outlier's code stay in its slot, the lower b bits go to its pruned slot.
 */
public record MicroScopiQFormat(int bits, int blockSize, int maxOutliers, double outlierSigma, FpElement outlierElement, int level2Bits)
        implements QuantFormat {
    public static final MicroScopiQFormat W4 = new MicroScopiQFormat(4, 16, 4, 2.0, FpElement.E4M3, 4);
    public static final MicroScopiQFormat W2 = new MicroScopiQFormat(2, 16, 4, 2.0, FpElement.E2M1, 4);

    public MicroScopiQFormat {
        if (bits != 2 && bits != 4) throw new IllegalArgumentException("MicroScopiQ inlier bits must be 2 or 4, got " + bits);
        if (outlierElement == null || outlierElement.bits() != 2 * bits)
            throw new IllegalArgumentException("outlier element must have 2*bits = " + 2 * bits + " bits, got " + outlierElement);
        if (blockSize < 2 || blockSize > 256) throw new IllegalArgumentException("block size must be in [2, 256], got " + blockSize);
        if (maxOutliers < 0 || 2 * maxOutliers > blockSize)
            throw new IllegalArgumentException("maxOutliers must be in [0, blockSize/2] (each outlier needs a pruned slot), got " + maxOutliers);
        if (!(outlierSigma >= 0) || Double.isInfinite(outlierSigma)) throw new IllegalArgumentException("outlierSigma must be finite and >= 0, got " + outlierSigma);
        if (level2Bits < 1 || level2Bits > 8) throw new IllegalArgumentException("level2Bits must be in [1, 8], got " + level2Bits);
    }

    @Override
    public String id() {
        String base = "microscopiq-w" + bits;
        if (equals(bits == 4 ? W4 : W2)) return base;
        return base + "-b" + blockSize + "-o" + maxOutliers + "-s" + outlierSigma + "-" + outlierElement.name().toLowerCase(java.util.Locale.ROOT) + "-l" + level2Bits;
    }

    /** Bits of a block position. */
    int posBits() {
        return 32 - Integer.numberOfLeadingZeros(blockSize - 1);
    }

    /** Metadata bits per block: e1 (8) + d (level2Bits) + maxOutliers pairs of two positions. */
    public int metadataBitsPerBlock() {
        return 8 + level2Bits + maxOutliers * 2 * posBits();
    }

    void checkShape(int n, int k) {
        Shapes.check(n, k);
        if (k % blockSize != 0) throw new IllegalArgumentException("k = " + k + " is not a multiple of the block size " + blockSize + " required by " + id());
    }

    int rowSlotBytes(int k) { return (int) Bits.bytesFor((long) k * bits); }

    int rowMetaBytes(int k) { return (int) Bits.bytesFor((long) (k / blockSize) * metadataBitsPerBlock()); }

    @Override
    public long packedBytes(int n, int k) {
        checkShape(n, k);
        return (long) n * (rowSlotBytes(k) + rowMetaBytes(k));
    }

    @Override
    public PackedTensor pack(QuantizedTensor q) {
        MicroScopiQTensor t = QuantFormats.cast(this, q, MicroScopiQTensor.class);
        int n = t.n(), k = t.k(), nb = k / blockSize, sb = rowSlotBytes(k), mb = rowMetaBytes(k), pb = posBits(), m = metadataBitsPerBlock();
        byte[] out = new byte[(int) packedBytes(n, k)];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) Bits.put(out, ((long) r * sb << 3) + (long) c * bits, bits, t.slots()[r * k + c] & ((1 << bits) - 1));
        long base = (long) n * sb << 3;
        for (int r = 0; r < n; r++)
            for (int b = 0; b < nb; b++) {
                int i = r * nb + b;
                long o = base + ((long) r * mb << 3) + (long) b * m;
                Bits.put(out, o, 8, t.inlierScale()[i] & 0xFF);
                Bits.put(out, o + 8, level2Bits, t.level2()[i]);
                long p = o + 8 + level2Bits;
                for (int j = 0; j < maxOutliers; j++, p += 2L * pb) {
                    Bits.put(out, p, pb, t.outlierPos()[i * maxOutliers + j] & 0xFF);
                    Bits.put(out, p + pb, pb, t.prunedPos()[i * maxOutliers + j] & 0xFF);
                }
            }
        return new PackedTensor(this, n, k, out);
    }

    @Override
    public MicroScopiQTensor unpackCodes(PackedTensor pt) {
        QuantFormats.checkFormat(this, pt);
        int n = pt.n(), k = pt.k(), nb = k / blockSize, sb = rowSlotBytes(k), mb = rowMetaBytes(k), pb = posBits(), m = metadataBitsPerBlock();
        byte[] in = pt.bytes();
        byte[] slots = new byte[n * k], e1 = new byte[n * nb], l2 = new byte[n * nb];
        byte[] op = new byte[n * nb * maxOutliers], pp = new byte[n * nb * maxOutliers];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) slots[r * k + c] = (byte) Bits.get(in, ((long) r * sb << 3) + (long) c * bits, bits);
        long base = (long) n * sb << 3;
        for (int r = 0; r < n; r++)
            for (int b = 0; b < nb; b++) {
                int i = r * nb + b;
                long o = base + ((long) r * mb << 3) + (long) b * m;
                e1[i] = (byte) Bits.get(in, o, 8);
                l2[i] = (byte) Bits.signExtend(Bits.get(in, o + 8, level2Bits), level2Bits);
                long p = o + 8 + level2Bits;
                for (int j = 0; j < maxOutliers; j++, p += 2L * pb) {
                    op[i * maxOutliers + j] = (byte) Bits.get(in, p, pb);
                    pp[i * maxOutliers + j] = (byte) Bits.get(in, p + pb, pb);
                }
            }
        return new MicroScopiQTensor(this, n, k, slots, e1, l2, op, pp);
    }

    @Override
    public float[] dequantize(QuantizedTensor q) {
        MicroScopiQTensor t = QuantFormats.cast(this, q, MicroScopiQTensor.class);
        int n = t.n(), k = t.k(), nb = k / blockSize;
        MxInt inl = new MxInt(bits);
        float[] w = new float[n * k];
        byte[] role = new byte[blockSize];
        for (int r = 0; r < n; r++)
            for (int b = 0; b < nb; b++) {
                int i = r * nb + b, c0 = r * k + b * blockSize;
                int e1 = (t.inlierScale()[i] & 0xFF) - 127, d = t.level2()[i];
                Arrays.fill(role, (byte) 0);
                for (int j = 0; j < maxOutliers; j++) {
                    int o = t.outlierPos()[i * maxOutliers + j] & 0xFF, p = t.prunedPos()[i * maxOutliers + j] & 0xFF;
                    if (o == p) continue;
                    if (o >= blockSize || p >= blockSize || role[o] != 0 || role[p] != 0)
                        throw new IllegalArgumentException("row " + r + " block " + b + ": invalid or repeated outlier pair (" + o + ", " + p + ")");
                    role[o] = 1;
                    role[p] = 2;
                    w[c0 + o] = outlierValue(((t.slots()[c0 + o] & lowMask()) << bits) | (t.slots()[c0 + p] & lowMask()), e1, d);
                    w[c0 + p] = 0f;
                }
                if ((t.inlierScale()[i] & 0xFF) == E8M0.NAN) throw new IllegalArgumentException("row " + r + " block " + b + ": NaN inlier scale is not allowed in " + id());
                for (int s = 0; s < blockSize; s++) if (role[s] == 0) w[c0 + s] = inlierValue(inl, t.slots()[c0 + s], e1);
            }
        return w;
    }

    private int lowMask() { return (1 << bits) - 1; }

    float inlierValue(MxInt inl, int code, int e1) {
        return (float) Math.scalb(inl.decode(code & lowMask()), e1);
    }

    float outlierValue(int code, int e1, int d) {
        return (float) Math.scalb(outlierElement.decode(code), e1 + d);
    }

    @Override
    public ColumnQuantizer columnQuantizer(int n, int k) {
        checkShape(n, k);
        return new MicroScopiQQuantizer(this, n, k);
    }
}
