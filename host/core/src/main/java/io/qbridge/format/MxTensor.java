package io.qbridge.format;

import java.util.Arrays;
import java.util.Objects;

/**
 * MX codes: {@code codes[r*k + c]} is the element code (low bits of the byte), {@code scales[r*blocks + b]}
 * the E8M0 code of block b of row r.
 */
public record MxTensor(MxFormat format, int n, int k, byte[] codes, byte[] scales) implements QuantizedTensor {
    public MxTensor {
        Shapes.check(n, k);
        Shapes.checkLength("codes", codes.length, (long) n * k);
        Shapes.checkLength("scales", scales.length, (long) n * format.blocks(k));
        Shapes.checkCodes("codes", codes, format.element().bits());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MxTensor t && t.format.equals(format) && t.n == n && t.k == k && Arrays.equals(t.codes, codes) && Arrays.equals(t.scales, scales);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, n, k, Arrays.hashCode(codes), Arrays.hashCode(scales));
    }
}
