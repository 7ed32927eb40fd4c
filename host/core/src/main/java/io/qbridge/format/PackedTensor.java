package io.qbridge.format;

import java.util.Arrays;
import java.util.Objects;

/**
 * The exact byte image the accelerator memory holds for one [n][k] weight matrix in {@code format}.
 * Multi-byte fields are little-endian; bit fields are packed LSB-first (see {@code docs/formats.md}).
 * The constructor checks the length against {@link QuantFormat#packedBytes(int, int)}, so a truncated or
 * padded image is rejected before anything reads it.
 */
public record PackedTensor(QuantFormat format, int n, int k, byte[] bytes) {
    public PackedTensor {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(bytes, "bytes");
        Shapes.check(n, k);
        long expected = format.packedBytes(n, k);
        if (bytes.length != expected)
            throw new IllegalArgumentException("packed bytes for " + format.id() + " [" + n + "x" + k + "] must be "
                    + expected + " bytes, got " + bytes.length + (bytes.length < expected ? " (truncated)" : " (too long)"));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PackedTensor p && p.format.equals(format) && p.n == n && p.k == k && Arrays.equals(p.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, n, k, Arrays.hashCode(bytes));
    }

    @Override
    public String toString() {
        return "PackedTensor[" + format.id() + ", " + n + "x" + k + ", " + bytes.length + " bytes]";
    }
}
