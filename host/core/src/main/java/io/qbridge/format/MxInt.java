package io.qbridge.format;

/**
 * MX integer elements of {@code bits} bits: two's complement k with an implicit scale 2^-(bits-2), so
 * MXINT8 (OCP MX v1.0 §5.3.4) has scale 2^-6 and range [-2, 1 + 63/64]; the same rule gives the b-bit
 * MX-INT inliers of MicroScopiQ (INT4: k/4, INT2: k).
 *
 * <p><b>(ours)</b> Encoding saturates symmetrically to +-(2^(bits-1) - 1) so that negation is exact and
 * the code -2^(bits-1) is never produced (the OCP reference library does the same for INT8); decoding
 * still accepts it.
 */
public record MxInt(int bits) implements ElementCodec {
    public MxInt {
        if (bits < 2 || bits > 8) throw new IllegalArgumentException("MX-INT element bits must be in [2, 8], got " + bits);
    }

    public static final MxInt INT8 = new MxInt(8);

    @Override public int emax() { return 0; }
    @Override public double maxNormal() { return Math.scalb((double) maxCode(), 2 - bits); }

    public int maxCode() { return (1 << (bits - 1)) - 1; }

    @Override
    public int encode(double v) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException("MX-INT" + bits + ": cannot encode " + v);
        double k = Math.rint(Math.scalb(v, bits - 2)); // round-half-even
        int c = (int) Math.max(-maxCode(), Math.min(maxCode(), k));
        return c & ((1 << bits) - 1);
    }

    @Override
    public double decode(int code) {
        return Math.scalb((double) Bits.signExtend(code, bits), 2 - bits);
    }
}
