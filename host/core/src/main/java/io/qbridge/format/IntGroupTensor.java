package io.qbridge.format;

import java.util.Arrays;
import java.util.Objects;

/**
 * Group-wise INT codes. {@code codes[r*k + c]} is the raw b-bit code (two's complement when symmetric,
 * unsigned when asymmetric) in the low bits of the byte; {@code scales}/{@code zeros} are fp16 bit
 * patterns indexed {@code [r * groups + g]}; {@code zeros} is null for symmetric formats.
 */
public record IntGroupTensor(IntGroupFormat format, int n, int k, byte[] codes, short[] scales, short[] zeros)
        implements QuantizedTensor {
    public IntGroupTensor {
        Shapes.check(n, k);
        Shapes.checkLength("codes", codes.length, (long) n * k);
        Shapes.checkLength("scales", scales.length, (long) n * format.groups(k));
        if (format.symmetric() != (zeros == null)) throw new IllegalArgumentException("zeros must be present iff the format is asymmetric");
        if (zeros != null) Shapes.checkLength("zeros", zeros.length, (long) n * format.groups(k));
        Shapes.checkCodes("codes", codes, format.bits());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IntGroupTensor t && t.format.equals(format) && t.n == n && t.k == k && Arrays.equals(t.codes, codes)
                && Arrays.equals(t.scales, scales) && Arrays.equals(t.zeros, zeros);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, n, k, Arrays.hashCode(codes), Arrays.hashCode(scales), Arrays.hashCode(zeros));
    }
}
