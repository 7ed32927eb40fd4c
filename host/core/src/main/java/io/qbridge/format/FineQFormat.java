package io.qbridge.format;

/**
 * FineQ as Qbridge reads it ({@code docs/formats.md} §5, all <b>ours</b>): one 8-bit word per cluster of 3 consecutive
 * weights along K, one fp16 scale s per row and group of {@code groupSize} columns.
 *
 * <p>Word = index (bits 7..6) + 6 data bits. Index 0: three 2-bit sign-magnitude codes (bits 1..0,
 * 3..2, 5..4 for cluster positions 0, 1, 2), value (-1)^sign (m + 0.5) s, m in {0,1}. Index p in {1,2,3}:
 * position p-1 is pruned (value 0) and the two other positions, in increasing order, hold 3-bit
 * sign-magnitude codes at bits 2..0 and 5..3, value (-1)^sign (m + 0.5) s, m in 0..3. Sign-magnitude keeps
 * the magnitude a pulse count for the temporal-coding PE.
 *
 * <p>Clusters never straddle groups: each group is cut into ceil(len/3) clusters, the last one padded
 * with 1 or 2 pad positions (code 0 in the word, error ignored when choosing the encoding, so a
 * two-weight cluster usually prunes its pad and gets 3-bit weights for free). Pad values are not part of
 * the matrix; hardware must pair them with zero activations.
 *
 * <p>Scale: s = fp16(max|w over group| / {@code scaleDivisor} * f) (3.5 maps the group maximum onto the
 * top 3-bit level at f = 1); with {@code scaleSearchSteps} n > 0, f runs over 1 - 0.7 i / n, i = 0..n, and
 * the scale with the lowest group error (each cluster at its best encoding) wins, ties to the larger.
 * Encoding per cluster: the one of the four with the lowest error sum_j (w_j - q_j)^2 / d_j^2
 * (d_j = 1 under RTN), ties to the lower index.
 */
public record FineQFormat(int groupSize, double scaleDivisor, int scaleSearchSteps) implements QuantFormat {
    public static final FineQFormat DEFAULT = new FineQFormat(128, 3.5, 8);
    public static final int CLUSTER = 3;

    public FineQFormat {
        if (groupSize < 1) throw new IllegalArgumentException("group size must be >= 1, got " + groupSize);
        if (!(scaleDivisor > 0) || Double.isInfinite(scaleDivisor)) throw new IllegalArgumentException("scaleDivisor must be finite and > 0, got " + scaleDivisor);
        if (scaleSearchSteps < 0 || scaleSearchSteps > 64) throw new IllegalArgumentException("scaleSearchSteps must be in [0, 64], got " + scaleSearchSteps);
    }

    @Override
    public String id() {
        return equals(DEFAULT) ? "fineq" : "fineq-g" + groupSize + "-d" + scaleDivisor + "-s" + scaleSearchSteps;
    }

    public int groups(int k) {
        return Shapes.ceilDiv(k, groupSize);
    }

    /** Words per row: full groups times ceil(g/3), plus ceil(rest/3) for a partial last group. */
    public int wordsPerRow(int k) {
        return (k / groupSize) * Shapes.ceilDiv(groupSize, CLUSTER) + Shapes.ceilDiv(k % groupSize, CLUSTER);
    }

    /** Index of the word holding column c, and the position inside it. */
    int wordOf(int c) {
        return (c / groupSize) * Shapes.ceilDiv(groupSize, CLUSTER) + (c % groupSize) / CLUSTER;
    }

    static int posOf(int c, int groupSize) {
        return (c % groupSize) % CLUSTER;
    }

    @Override
    public long packedBytes(int n, int k) {
        Shapes.check(n, k);
        return (long) n * wordsPerRow(k) + 2L * n * groups(k);
    }

    @Override
    public PackedTensor pack(QuantizedTensor q) {
        FineQTensor t = QuantFormats.cast(this, q, FineQTensor.class);
        byte[] out = new byte[(int) packedBytes(t.n(), t.k())];
        System.arraycopy(t.words(), 0, out, 0, t.words().length);
        int off = t.words().length;
        for (short s : t.scales()) { Bits.putShortLE(out, off, s); off += 2; }
        return new PackedTensor(this, t.n(), t.k(), out);
    }

    @Override
    public FineQTensor unpackCodes(PackedTensor p) {
        QuantFormats.checkFormat(this, p);
        int nw = p.n() * wordsPerRow(p.k()), ns = p.n() * groups(p.k());
        byte[] words = new byte[nw];
        System.arraycopy(p.bytes(), 0, words, 0, nw);
        short[] scales = new short[ns];
        for (int i = 0; i < ns; i++) scales[i] = Bits.getShortLE(p.bytes(), nw + 2 * i);
        return new FineQTensor(this, p.n(), p.k(), words, scales);
    }

    @Override
    public float[] dequantize(QuantizedTensor q) {
        FineQTensor t = QuantFormats.cast(this, q, FineQTensor.class);
        int n = t.n(), k = t.k(), wpr = wordsPerRow(k), g = groups(k);
        float[] w = new float[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) {
                float s = Float.float16ToFloat(t.scales()[r * g + c / groupSize]);
                w[r * k + c] = decode(t.words()[r * wpr + wordOf(c)] & 0xFF, posOf(c, groupSize), s);
            }
        return w;
    }

    /** Index of a word (0 = three 2-bit values, p = position p-1 pruned). */
    public static int index(int word) {
        return (word >>> 6) & 3;
    }

    /** Field offset and width of cluster position pos under index idx, or width 0 if pruned. */
    static int fieldShift(int idx, int pos) {
        if (idx == 0) return 2 * pos;
        int pruned = idx - 1;
        return pos < pruned ? 3 * pos : 3 * (pos - 1);
    }

    static int fieldBits(int idx, int pos) {
        if (idx == 0) return 2;
        return pos == idx - 1 ? 0 : 3;
    }

    /** The one dequantization rule: (-1)^sign * fp32(fp32(m + 0.5) * s). */
    public static float decode(int word, int pos, float s) {
        int idx = index(word), nb = fieldBits(idx, pos);
        if (nb == 0) return 0f;
        int field = (word >>> fieldShift(idx, pos)) & ((1 << nb) - 1);
        int m = field & ((1 << (nb - 1)) - 1);
        float v = (m + 0.5f) * s;
        return (field >>> (nb - 1)) != 0 ? -v : v;
    }

    /** Sign-magnitude code of nb bits for value w on the grid (m + 0.5) s, m = clamp(floor(|w|/s)). */
    static int encodeField(double w, float s, int nb) {
        int mMax = (1 << (nb - 1)) - 1;
        int m = s == 0 ? 0 : (int) Math.max(0, Math.min(mMax, Math.floor(Math.abs(w) / s)));
        return (w < 0 ? 1 << (nb - 1) : 0) | m;
    }

    @Override
    public ColumnQuantizer columnQuantizer(int n, int k) {
        Shapes.check(n, k);
        return new FineQQuantizer(this, n, k);
    }
}
