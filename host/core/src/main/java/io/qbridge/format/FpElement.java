package io.qbridge.format;

/**
 * The OCP MX v1.0 minifloat element formats (§5.3.1 FP8 per the OFP8 spec, §5.3.2 FP6, §5.3.3 FP4).
 * Layout of a code, MSB first: sign, exponent (bias {@link #bias}), mantissa. All of them have
 * subnormals (exponent field 0: value = M * 2^(1 - bias - mbits)). Only E4M3 (S.1111.111 = NaN, no Inf)
 * and E5M2 (exponent 11111: Inf if M = 0, NaN otherwise) have special values; FP6 and FP4 have none.
 */
public enum FpElement implements ElementCodec {
    E4M3(4, 3, 7, 448.0),
    E5M2(5, 2, 15, 57344.0),
    E2M3(2, 3, 1, 7.5),
    E3M2(3, 2, 3, 28.0),
    E2M1(2, 1, 1, 6.0);

    final int ebits;
    final int mbits;
    final int bias;
    private final double max;

    FpElement(int ebits, int mbits, int bias, double max) {
        this.ebits = ebits;
        this.mbits = mbits;
        this.bias = bias;
        this.max = max;
    }

    @Override public int bits() { return 1 + ebits + mbits; }
    /** Mantissa field width. */
    public int mantissaBits() { return mbits; }
    /** Exponent field width. */
    public int exponentBits() { return ebits; }
    /** Exponent bias. */
    public int bias() { return bias; }
    @Override public int emax() { return Math.getExponent(max); }
    @Override public double maxNormal() { return max; }

    private int emin() { return 1 - bias; }

    @Override
    public int encode(double v) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException(name() + ": cannot encode " + v + " (non-finite values are handled at block level)");
        int sign = Double.doubleToRawLongBits(v) < 0 ? 1 : 0;
        double a = Math.abs(v);
        // The quantum is the spacing of the binade a falls into, or the subnormal spacing below 2^emin.
        int e = a == 0 ? emin() : Math.max(Math.getExponent(a), emin());
        double quantum = Math.scalb(1.0, e - mbits);
        double q = Math.rint(a / quantum) * quantum; // Math.rint is round-half-even
        if (q > max) q = max; // saturate (never produces NaN/Inf)
        return (sign << (ebits + mbits)) | magnitudeBits(q);
    }

    private int magnitudeBits(double q) {
        if (q == 0) return 0;
        if (q < Math.scalb(1.0, emin())) return (int) Math.scalb(q, mbits - emin()); // subnormal
        int e = Math.getExponent(q);
        int m = (int) (Math.scalb(q, mbits - e)) - (1 << mbits);
        return ((e + bias) << mbits) | m;
    }

    @Override
    public double decode(int code) {
        int sign = (code >>> (ebits + mbits)) & 1;
        int e = (code >>> mbits) & ((1 << ebits) - 1);
        int m = code & ((1 << mbits) - 1);
        int emaxField = (1 << ebits) - 1;
        double mag;
        if (this == E4M3 && e == emaxField && m == (1 << mbits) - 1) return Double.NaN;
        if (this == E5M2 && e == emaxField) mag = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        else if (e == 0) mag = Math.scalb((double) m, emin() - mbits);
        else mag = Math.scalb((double) ((1 << mbits) | m), e - bias - mbits);
        return sign == 1 ? -mag : mag;
    }
}
