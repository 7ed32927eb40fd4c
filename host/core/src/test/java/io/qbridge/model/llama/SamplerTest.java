package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The sampler against llama2.c's run.c: the expected numbers below were printed by run.c's own
 * {@code random_u32}, {@code random_f32} and {@code sample()} (built from the llama2.c repository outside
 * this one) on the same inputs.
 */
class SamplerTest {
    @Test
    void xorshiftMatchesRunC() {
        Sampler s = new Sampler(10, 1f, 0f, 42);
        long[] expected = {1456360119L, 3359763283L, 3393612768L, 4054632243L, 3283045847L};
        for (long e : expected) assertEquals(e, Integer.toUnsignedLong(s.randomU32()));
        Sampler f = new Sampler(10, 1f, 0f, 7);
        assertEquals(0.820246637f, f.randomF32());
        assertEquals(0.928290129f, f.randomF32());
        assertEquals(0.0893495679f, f.randomF32());
    }

    /** 30 draws over 101 distinct logits {@code ((37 i + 11 k) mod 101) / 10} at step k, seed 1234. */
    @ParameterizedTest(name = "temperature {0} top-p {1}")
    @CsvSource(delimiter = '|', value = {
            "1.0|0.9|57 46 2 100 91 94 39 17 33 19 87 92 10 64 42 36 22 60 30 98 54 81 86 45 91 77 63 38 57 35",
            "0.7|0.0|73 35 43 29 97 23 50 6 33 49 35 54 37 78 53 91 93 85 30 35 43 40 64 1 39 58 55 79 57 5",
            "1.3|0.5|8 16 73 70 4 94 80 17 3 60 57 73 81 86 53 69 25 22 71 98 24 51 67 45 61 17 74 60 98 5"})
    void samplesMatchRunC(float temperature, float topp, String expectedIds) {
        int n = 101;
        Sampler s = new Sampler(n, temperature, topp, 1234);
        int[] ids = new int[30];
        for (int k = 0; k < 30; k++) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = ((i * 37 + k * 11) % 101) / 10.0f;
            ids[k] = s.sample(logits);
        }
        int[] expected = java.util.Arrays.stream(expectedIds.split(" ")).mapToInt(Integer::parseInt).toArray();
        assertArrayEquals(expected, ids);
    }

    @Test
    void greedyTakesTheLowestIdOnTies() {
        Sampler g = Sampler.greedy(6);
        assertEquals(2, g.sample(new float[] {0f, 1f, 3f, -2f, 3f, 3f}));
        assertEquals(0, g.sample(new float[] {5f, 5f, 5f, 5f, 5f, 5f}));
        // Only the first vocabSize logits count.
        assertEquals(1, g.sample(new float[] {0f, 1f, 0f, 0f, 0f, 0f, 99f}));
    }

    @Test
    void nucleusNeverLeavesTheTopTokens() {
        // One token holds 0.95 of the mass after softmax: top-p 0.9 must always pick it.
        float[] base = new float[50];
        base[17] = 10f;
        Sampler s = new Sampler(50, 1f, 0.9f, 99);
        for (int k = 0; k < 200; k++) assertEquals(17, s.sample(base.clone()));
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(10, 1f, 0.9f, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(10, -1f, 0.9f, 1));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(0, 0f, 0f, 1));
    }
}
