package io.qbridge.emulator;

import io.qbridge.format.FpElement;

/**
 * MX minifloat elements as integers: a code with sign S, exponent field E and mantissa M (m bits, bias
 * {@code bias}) is exactly {@code significand * 2^exponentShift * 2^gridExponent}, where
 * <pre>
 *   significand   = (-1)^S * (E == 0 ? M : 2^m + M)       (m + 1 bits plus sign)
 *   exponentShift = max(E, 1) - 1                          (a left shift, 0 for subnormals)
 *   gridExponent  = 1 - bias - m                           (the element's subnormal spacing)
 * </pre>
 * so an FP element times an INT8 activation is an integer multiply followed by a shift, the way the PE
 * array computes it.
 */
public final class FpFixedPoint {
    private FpFixedPoint() {}

    public static int mantissaBits(FpElement e) {
        return e.mantissaBits();
    }

    public static int bias(FpElement e) {
        return e.bias();
    }

    private static int exponentBits(FpElement e) {
        return e.exponentBits();
    }

    public static int gridExponent(FpElement e) {
        return 1 - bias(e) - mantissaBits(e);
    }

    /** The signed significand of {@code code}, or {@link Long#MIN_VALUE} for a NaN or Inf code. */
    public static long significand(FpElement e, int code) {
        int mb = mantissaBits(e), eb = exponentBits(e);
        int sign = (code >>> (eb + mb)) & 1, ex = (code >>> mb) & ((1 << eb) - 1), m = code & ((1 << mb) - 1);
        if (e == FpElement.E4M3 && ex == 15 && m == 7) return Long.MIN_VALUE;
        if (e == FpElement.E5M2 && ex == 31) return Long.MIN_VALUE;
        long mag = ex == 0 ? m : (1L << mb) | m;
        return sign == 1 ? -mag : mag;
    }

    public static int exponentShift(FpElement e, int code) {
        int mb = mantissaBits(e), ex = (code >>> mb) & ((1 << exponentBits(e)) - 1);
        return Math.max(ex, 1) - 1;
    }
}
