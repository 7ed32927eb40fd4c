package io.qbridge.format;

/**
 * LO-BCQ, block-clustered codebook quantization (Elangovan et al.; {@code docs/formats.md} §8). Along K, each row
 * is cut into <em>block arrays</em> of {@code arrayScalars} (L_A) scalars sharing one E4M3 scale, each array into
 * <em>scalar blocks</em> of {@code blockScalars} (L_b) scalars; every scalar block selects one of
 * {@code codebooks} (N_c) codebooks of 16 integer entries, and every scalar is a 4-bit index into it. One FP32
 * scale per row (output row of W, token of X) brings the array scales into the E4M3 range.
 *
 * <p>Value of scalar (r, c): {@code fp32(g[r] * s[r][array] * cb[sel][idx])}, the product exact in double and
 * rounded once. The codebooks are the committed universal table for the configuration
 * ({@link LoBcqCodebooks#universal}) or, for a {@code local} format, a table stored in the tensor's own image.
 *
 * @param codebooks    N_c, 1..16
 * @param blockScalars L_b, scalars per selector
 * @param arrayScalars L_A, scalars per E4M3 scale; a multiple of L_b and even. When K is not a multiple of it, the
 *                     last array of each row is partial: its record is stored whole, the positions past K padded
 *                     with zero codes that nothing reads ({@code docs/formats.md} §8.1)
 * @param entryBits    codebook entry width B_c (4, 6 or 8)
 * @param amaxTarget   T_a: the normalised value an array's largest magnitude maps to
 * @param local        per-tensor codebooks stored in the image (the paper's "local" ablation) instead of the universal table
 */
public record LoBcqFormat(int codebooks, int blockScalars, int arrayScalars, int entryBits, int amaxTarget, boolean local) implements QuantFormat {
    /** Preset A: 8 codebooks, blocks of 8, arrays of 64: 4 + 3/8 + 8/64 = 4.5 bits per scalar (plus 32/K for g). */
    public static final LoBcqFormat C8_A64 = new LoBcqFormat(8, 8, 64, 6, 31, false);
    /** Preset B: 16 codebooks, arrays of 128: 4.5625 bits per scalar. */
    public static final LoBcqFormat C16_A128 = new LoBcqFormat(16, 8, 128, 6, 31, false);
    /** Preset C: 16 codebooks, arrays of 64: 4.625 bits per scalar. */
    public static final LoBcqFormat C16_A64 = new LoBcqFormat(16, 8, 64, 6, 31, false);
    /** Index bits per scalar (16 entries per codebook). */
    public static final int INDEX_BITS = 4;
    /** E4M3 largest normal: the row scale puts the largest array scale there. */
    static final float E4M3_MAX = 448f;

    public LoBcqFormat {
        if (codebooks < 1 || codebooks > 16) throw new IllegalArgumentException("LO-BCQ codebooks must be in 1..16, got " + codebooks);
        if (blockScalars < 1) throw new IllegalArgumentException("LO-BCQ block must hold >= 1 scalar, got " + blockScalars);
        if (arrayScalars < 2 || arrayScalars % 2 != 0 || arrayScalars % blockScalars != 0 || arrayScalars > 4096)
            throw new IllegalArgumentException("LO-BCQ block array of " + arrayScalars + " scalars must be even, at most 4096 and a multiple of the block (" + blockScalars + ")");
        if (entryBits != 4 && entryBits != 6 && entryBits != 8) throw new IllegalArgumentException("LO-BCQ entry bits must be 4, 6 or 8, got " + entryBits);
        if (amaxTarget < 1 || amaxTarget > LoBcqCodebooks.maxEntry(entryBits))
            throw new IllegalArgumentException("LO-BCQ amax target must be in 1.." + LoBcqCodebooks.maxEntry(entryBits) + ", got " + amaxTarget);
    }

    private boolean defaultShape() {
        return blockScalars == 8 && entryBits == 6 && amaxTarget == 31;
    }

    @Override
    public String id() {
        String base = defaultShape() ? "lobcq-c" + codebooks + "-a" + arrayScalars
                : "lobcq-c" + codebooks + "-b" + blockScalars + "-a" + arrayScalars + "-e" + entryBits + "-t" + amaxTarget;
        return local ? base + "-local" : base;
    }

    /** The key of the universal table this configuration uses (the normalisation depends on all of these). */
    public String tableKey() {
        return "c" + codebooks + "-b" + blockScalars + "-a" + arrayScalars + "-e" + entryBits + "-t" + amaxTarget;
    }

    /** The same configuration with universal or per-tensor codebooks. */
    public LoBcqFormat withLocal(boolean l) {
        return new LoBcqFormat(codebooks, blockScalars, arrayScalars, entryBits, amaxTarget, l);
    }

    /** The committed universal codebooks (a one-line error when the resource has none for this configuration). */
    public LoBcqCodebooks universalCodebooks() {
        return LoBcqCodebooks.universal(tableKey(), entryBits);
    }

    /** Selector bits per block, ceil(log2 N_c) (0 for one codebook). */
    public int selectorBits() {
        return 32 - Integer.numberOfLeadingZeros(codebooks - 1);
    }

    public int blocksPerArray() {
        return arrayScalars / blockScalars;
    }

    /** Bytes of one block-array record: E4M3 scale, selector field, index nibbles. */
    public int recordBytes() {
        return 1 + selectorBytes() + arrayScalars / 2;
    }

    int selectorBytes() {
        return (int) Bits.bytesFor((long) blocksPerArray() * selectorBits());
    }

    /** Block arrays per row: ceil(K / L_A), the last one partial when L_A does not divide K. */
    public int arrays(int k) {
        return (k + arrayScalars - 1) / arrayScalars;
    }

    /** Real scalars of array a in a row of k: L_A, or fewer for a partial last array (the rest is padding). */
    public int arrayLength(int k, int a) {
        return Math.min(arrayScalars, k - a * arrayScalars);
    }

    /** Scalar blocks of array a holding at least one real scalar; the blocks after them are all padding (selector 0). */
    public int blocksUsed(int k, int a) {
        return (arrayLength(k, a) + blockScalars - 1) / blockScalars;
    }

    /** Bytes of the per-tensor table section (local formats only): N_c x 16 signed bytes. */
    int tableBytes() {
        return local ? codebooks * LoBcqCodebooks.ENTRIES : 0;
    }

    @Override
    public long packedBytes(int n, int k) {
        Shapes.check(n, k);
        return tableBytes() + 4L * n + (long) n * arrays(k) * recordBytes();
    }

    /** bits/scalar of the records alone (the paper's count, without g and table): 4 + 8 ceil(sel)/L_A + 8/L_A. */
    public double recordBitsPerScalar() {
        return 8.0 * recordBytes() / arrayScalars;
    }

    @Override
    public PackedTensor pack(QuantizedTensor q) {
        LoBcqTensor t = QuantFormats.cast(this, q, LoBcqTensor.class);
        int n = t.n(), k = t.k(), na = arrays(k), nbA = blocksPerArray(), sb = selectorBits(), rb = recordBytes();
        byte[] out = new byte[(int) packedBytes(n, k)];
        int off = 0;
        if (local) for (int e : t.table()) out[off++] = (byte) e;
        for (int r = 0; r < n; r++, off += 4) putFloatLE(out, off, t.rowScales()[r]);
        for (int r = 0; r < n; r++)
            for (int a = 0; a < na; a++, off += rb) {
                out[off] = t.scales()[r * na + a];
                long selBit = (long) (off + 1) << 3;
                for (int j = 0; j < nbA; j++) Bits.put(out, selBit + (long) j * sb, sb, t.selectors()[(r * na + a) * nbA + j]);
                int idx0 = off + 1 + selectorBytes(), c0 = r * k + a * arrayScalars, len = arrayLength(k, a);
                for (int i = 0; i < len; i++) out[idx0 + i / 2] |= (byte) ((t.indices()[c0 + i] & 0xF) << (4 * (i & 1))); // padding stays 0
            }
        return new PackedTensor(this, n, k, out);
    }

    @Override
    public LoBcqTensor unpackCodes(PackedTensor p) {
        QuantFormats.checkFormat(this, p);
        int n = p.n(), k = p.k(), na = arrays(k), nbA = blocksPerArray(), sb = selectorBits(), rb = recordBytes();
        byte[] in = p.bytes();
        int off = 0;
        int[] table = null;
        if (local) {
            table = new int[tableBytes()];
            for (int i = 0; i < table.length; i++) table[i] = in[off++];
        }
        float[] g = new float[n];
        for (int r = 0; r < n; r++, off += 4) g[r] = getFloatLE(in, off);
        byte[] scales = new byte[n * na], sel = new byte[n * na * nbA], idx = new byte[n * k];
        for (int r = 0; r < n; r++)
            for (int a = 0; a < na; a++, off += rb) {
                scales[r * na + a] = in[off];
                long selBit = (long) (off + 1) << 3;
                for (int j = 0; j < nbA; j++) sel[(r * na + a) * nbA + j] = (byte) Bits.get(in, selBit + (long) j * sb, sb);
                int idx0 = off + 1 + selectorBytes(), c0 = r * k + a * arrayScalars, len = arrayLength(k, a);
                for (int i = 0; i < arrayScalars; i++) {
                    int code = (in[idx0 + i / 2] >>> (4 * (i & 1))) & 0xF;
                    if (i < len) idx[c0 + i] = (byte) code;
                    else if (code != 0) throw new IllegalArgumentException(id() + " row " + r + ", array " + a + ": padding position " + i + " past K=" + k + " holds code " + code + ", not 0");
                }
            }
        return new LoBcqTensor(this, n, k, table, g, scales, sel, idx);
    }

    /** The codebooks a tensor of this format decodes with: its own table (local) or the universal one. */
    public LoBcqCodebooks codebooksOf(LoBcqTensor t) {
        return local ? new LoBcqCodebooks(entryBits, t.table()) : universalCodebooks();
    }

    @Override
    public float[] dequantize(QuantizedTensor q) {
        LoBcqTensor t = QuantFormats.cast(this, q, LoBcqTensor.class);
        LoBcqCodebooks cb = codebooksOf(t);
        int n = t.n(), k = t.k(), na = arrays(k), nbA = blocksPerArray();
        float[] w = new float[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) {
                int a = c / arrayScalars, blk = (r * na + a) * nbA + (c % arrayScalars) / blockScalars;
                w[r * k + c] = value(t.rowScales()[r], t.scales()[r * na + a] & 0xFF, cb.entry(t.selectors()[blk], t.indices()[r * k + c]));
            }
        return w;
    }

    /** The one dequantization rule: fp32(g * s * entry), the product exact in double (24 + 4 + 8 significant bits); a zero array is +0. */
    public static float value(float g, int scaleCode, int entry) {
        if (scaleCode == 0) return 0f;
        return (float) ((double) g * e4m3(scaleCode) * entry);
    }

    /** The exact value of a positive E4M3 scale code (bit 7 must be 0; 0x7F, NaN, is never produced). */
    public static double e4m3(int code) {
        if (code < 0 || code > 0x7E) throw new IllegalArgumentException("LO-BCQ scale code 0x" + Integer.toHexString(code) + " is not a positive finite E4M3 value");
        return Math.scalb((double) e4m3Significand(code), e4m3Exponent(code));
    }

    /** sig of an E4M3 code: e == 0 ? m : 8 + m, in [0, 15]. */
    public static int e4m3Significand(int code) {
        int e = (code >>> 3) & 0xF, m = code & 7;
        return e == 0 ? m : 8 + m;
    }

    /** ex of an E4M3 code: (e == 0 ? 1 : e) - 10, in [-9, 5]; value = sig * 2^ex. */
    public static int e4m3Exponent(int code) {
        int e = (code >>> 3) & 0xF;
        return (e == 0 ? 1 : e) - 10;
    }

    @Override
    public ColumnQuantizer columnQuantizer(int n, int k) {
        Shapes.check(n, k);
        if (local)
            throw new IllegalArgumentException(id() + " designs its codebooks from the whole tensor: use LoBcqDesign.quantizeLocal (the 'lobcq-…-local' recipes do)");
        return new LoBcqQuantizer(this, universalCodebooks(), null, n, k);
    }

    /** A quantizer bound to a given table (the per-tensor "local" codebooks; stored in the image). */
    public ColumnQuantizer columnQuantizer(int n, int k, LoBcqCodebooks table) {
        Shapes.check(n, k);
        if (table.count() != codebooks || table.entryBits() != entryBits)
            throw new IllegalArgumentException(id() + " needs " + codebooks + " INT" + entryBits + " codebooks, got " + table);
        return new LoBcqQuantizer(this, table, local ? table.entries() : null, n, k);
    }

    static void putFloatLE(byte[] b, int off, float v) {
        int x = Float.floatToRawIntBits(v);
        for (int i = 0; i < 4; i++) b[off + i] = (byte) (x >>> (8 * i));
    }

    static float getFloatLE(byte[] b, int off) {
        int x = 0;
        for (int i = 0; i < 4; i++) x |= (b[off + i] & 0xFF) << (8 * i);
        return Float.intBitsToFloat(x);
    }
}
