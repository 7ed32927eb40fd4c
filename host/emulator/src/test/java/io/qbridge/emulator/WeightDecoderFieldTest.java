package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link WeightDecoder#field} reads what docs/formats.md §0 says a field is: bit i of the field is stream bit offset + i. */
class WeightDecoderFieldTest {
    /** The definition, one bit at a time. */
    private static int reference(byte[] b, long bit, int width) {
        int v = 0;
        for (int i = 0; i < width; i++) {
            long s = bit + i;
            v |= ((b[(int) (s >>> 3)] >>> (int) (s & 7)) & 1) << i;
        }
        return v;
    }

    @Test
    void everyOffsetAndWidthUpTo32BitsReadsTheStreamsBitsUpToTheLastByte() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int len = 1; len <= 9; len++) {
            byte[] b = new byte[len];
            for (int trial = 0; trial < 40; trial++) {
                rnd.nextBytes(b);
                if (trial == 0) java.util.Arrays.fill(b, (byte) 0xFF); // every bit set: a sign or mask slip shows
                for (int width = 0; width <= 32; width++)
                    for (long bit = 0; bit + width <= 8L * len; bit++) // fields ending in the last byte read no further
                        assertEquals(reference(b, bit, width), WeightDecoder.field(b, bit, width), "len " + len + ", bit " + bit + ", width " + width);
            }
        }
    }
}
