package io.qbridge.format;

/**
 * The E8M0 shared scale of OCP MX v1.0 §5.1: 8 unsigned exponent bits, bias 127, no sign, no mantissa;
 * code c means 2^(c - 127) for c in [0, 254] and 0xFF means NaN.
 */
public final class E8M0 {
    public static final int NAN = 0xFF;
    public static final int MIN_EXP = -127;
    public static final int MAX_EXP = 127;

    private E8M0() {}

    /**
     * The shared exponent of OCP MX v1.0 §6.3: floor(log2(max|v|)) - emax_elem, clamped to the E8M0
     * range. <b>(ours)</b> For an all-zero block log2(0) is undefined in the spec; we use the smallest
     * scale 2^-127 (code 0x00) so every element encodes as +0 and the block decodes to exact zeros.
     */
    public static int sharedExponent(double maxAbs, int emaxElem) {
        if (maxAbs == 0) return MIN_EXP;
        int e = Math.getExponent(maxAbs) - emaxElem;
        return Math.max(MIN_EXP, Math.min(MAX_EXP, e));
    }

    public static int encode(int exponent) {
        if (exponent < MIN_EXP || exponent > MAX_EXP) throw new IllegalArgumentException("E8M0 exponent out of range: " + exponent);
        return exponent + 127;
    }

    /** The scale value; NaN for 0xFF. */
    public static double decode(int code) {
        code &= 0xFF;
        return code == NAN ? Double.NaN : Math.scalb(1.0, code - 127);
    }
}
