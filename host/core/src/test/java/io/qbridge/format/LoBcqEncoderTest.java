package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LoBcqEncoder#select} (all codebooks at once in vector lanes) against the scalar statement of docs/formats.md
 * §8.2 written here: per codebook, each scalar's nearest entry by counting the thresholds below it, the squared errors
 * summed in float in ascending order, the least error winning with ties to the lower codebook.
 */
class LoBcqEncoderTest {
    static int referenceSelect(LoBcqCodebooks cb, float[] v, int off, int len) {
        int best = 0;
        float bestE = 0;
        for (int i = 0; i < cb.count(); i++) {
            float e = 0;
            for (int c = off; c < off + len; c++) {
                int idx = 0;
                for (int j = 0; j < 15; j++) if ((cb.entry(i, j) + cb.entry(i, j + 1)) * 0.5f < v[c]) idx++;
                float d = v[c] - cb.entry(i, idx);
                e += d * d;
            }
            if (i == 0 || e < bestE) { bestE = e; best = i; }
        }
        return best;
    }

    /** Random sorted tables with duplicates, some codebooks copies of others (exact ties between codebooks). */
    static LoBcqCodebooks table(int nc, int entryBits, Random r) {
        int max = LoBcqCodebooks.maxEntry(entryBits);
        int[] t = new int[nc * 16];
        for (int i = 0; i < nc; i++) {
            if (i > 0 && r.nextInt(4) == 0) { System.arraycopy(t, (i - 1) * 16, t, i * 16, 16); continue; }
            int[] e = new int[16];
            for (int j = 0; j < 16; j++) e[j] = r.nextInt(2 * max + 1) - max;
            java.util.Arrays.sort(e);
            System.arraycopy(e, 0, t, i * 16, 16);
        }
        return new LoBcqCodebooks(entryBits, t);
    }

    @ParameterizedTest(name = "{0} codebooks, INT{1}, blocks of {2}")
    @CsvSource({"8, 6, 8", "16, 6, 8", "1, 6, 8", "5, 4, 4", "12, 8, 16", "16, 8, 3"})
    void vectorSelectionEqualsTheScalarRule(int nc, int entryBits, int lb) {
        Random r = new Random(31L * nc + entryBits + lb);
        LoBcqFormat f = new LoBcqFormat(nc, lb, lb * 2, entryBits, Math.min(31, LoBcqCodebooks.maxEntry(entryBits)), true);
        int max = LoBcqCodebooks.maxEntry(entryBits);
        for (int trial = 0; trial < 300; trial++) {
            LoBcqCodebooks cb = table(nc, entryBits, r);
            LoBcqEncoder enc = new LoBcqEncoder(f, cb);
            float[] v = new float[lb + 3];
            for (int block = 0; block < 50; block++) {
                for (int c = 0; c < v.length; c++) {
                    int i = r.nextInt(nc), j = r.nextInt(15);
                    v[c] = switch (r.nextInt(6)) {
                        case 0 -> (cb.entry(i, j) + cb.entry(i, j + 1)) * 0.5f; // exactly on a threshold: ties to the lower entry
                        case 1 -> cb.entry(i, j);
                        case 2 -> 0f;
                        case 3 -> (float) (r.nextGaussian() * 4 * max); // far outside the entries
                        default -> (float) (r.nextGaussian() * max / 2);
                    };
                }
                int off = r.nextInt(3), len = 1 + r.nextInt(lb);
                assertEquals(referenceSelect(cb, v, off, len), enc.select(v, off, len), "trial " + trial + ", block " + block);
            }
        }
    }
}
