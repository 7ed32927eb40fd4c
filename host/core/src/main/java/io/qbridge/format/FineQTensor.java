package io.qbridge.format;

import java.util.Arrays;
import java.util.Objects;

/**
 * FineQ codes: {@code words[r * wordsPerRow + j]} the 8-bit cluster words of row r in order,
 * {@code scales[r * groups + g]} the fp16 scale bit patterns.
 */
public record FineQTensor(FineQFormat format, int n, int k, byte[] words, short[] scales) implements QuantizedTensor {
    public FineQTensor {
        Shapes.check(n, k);
        Shapes.checkLength("words", words.length, (long) n * format.wordsPerRow(k));
        Shapes.checkLength("scales", scales.length, (long) n * format.groups(k));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FineQTensor t && t.format.equals(format) && t.n == n && t.k == k && Arrays.equals(t.words, words) && Arrays.equals(t.scales, scales);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, n, k, Arrays.hashCode(words), Arrays.hashCode(scales));
    }
}
