package io.qbridge.quant;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.format.LoBcqCodebooks;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** LO-BCQ's codebook design (docs/formats.md §8.3) on synthetic blocks. */
class LoBcqDesignTest {
    static float[] blocks(int count, int lb, long seed) {
        Random r = new Random(seed);
        float[] v = new float[count * lb];
        for (int b = 0; b < count; b++) {
            double spread = Math.exp(1.5 * r.nextGaussian()) * 3; // blocks of very different ranges
            for (int c = 0; c < lb; c++) v[b * lb + c] = (float) Math.max(-31, Math.min(31, r.nextGaussian() * spread));
        }
        return v;
    }

    @Test
    void errorNeverRisesAndMoreCodebooksFitBetter() {
        float[] v = blocks(4000, 8, 1);
        double last = Double.POSITIVE_INFINITY;
        for (int nc : new int[] {1, 2, 4, 8, 16}) {
            LoBcqDesign.Result r = LoBcqDesign.design(nc, 8, 6, List.of(new LoBcqDesign.Blocks("W", v)), LoBcqDesignConfig.SPEC);
            for (int i = 1; i < r.history().length; i++) assertTrue(r.history()[i] <= r.history()[i - 1], nc + ": J rose at " + i);
            assertTrue(r.finalMsePerKind()[0] < last, nc + " codebooks: " + r.finalMsePerKind()[0] + " vs " + last);
            last = r.finalMsePerKind()[0];
            assertEquals(nc, r.codebooks().count());
        }
    }

    @Test
    void oneCodebookIsLloydMaxOnAllBlocks() {
        float[] v = blocks(3000, 8, 2);
        LoBcqDesign.Result r = LoBcqDesign.design(1, 8, 8, List.of(new LoBcqDesign.Blocks("W", v)), LoBcqDesignConfig.SPEC);
        // Lloyd-Max written here from its definition: quantile start, midpoint cells (ties low), cell means
        double[] s = new double[v.length];
        for (int i = 0; i < v.length; i++) s[i] = v[i];
        Arrays.sort(s);
        double[] e = new double[16];
        for (int j = 0; j < 16; j++) e[j] = s[(int) Math.floor((j + 0.5) / 16 * s.length)];
        // the outer loop with one codebook: J of the current entries, the relative-drop rule, then a warm-started Lloyd-Max
        double prevJ = Double.NaN;
        lloyd(s, e);
        for (int outer = 0; outer < 30; outer++) {
            double j = 0;
            for (double x : s) { double d = x - e[nearest(e, x)]; j += d * d; }
            if (outer > 0 && prevJ - j <= 1e-4 * prevJ) break;
            prevJ = j;
            lloyd(s, e);
        }
        int[] want = new int[16];
        for (int j = 0; j < 16; j++) want[j] = (int) Math.max(-127, Math.min(127, Math.rint(e[j])));
        Arrays.sort(want);
        assertEquals(new LoBcqCodebooks(8, want), r.codebooks(), Arrays.toString(want) + " vs " + Arrays.toString(r.codebooks().entries()) + " from " + Arrays.toString(e));
    }

    static int nearest(double[] e, double x) {
        int idx = 0;
        for (int j = 0; j < 15; j++) if ((e[j] + e[j + 1]) * 0.5 < x) idx = j + 1;
        return idx;
    }

    /** Plain Lloyd-Max: cells by midpoints (ties to the lower cell), entries to cell means, until the largest move is below 1e-4 or 100 rounds. */
    static void lloyd(double[] s, double[] e) {
        for (int it = 0; it < 100; it++) {
            double[] sum = new double[16];
            int[] cnt = new int[16];
            for (double x : s) { int idx = nearest(e, x); sum[idx] += x; cnt[idx]++; }
            double move = 0;
            for (int j = 0; j < 16; j++) if (cnt[j] > 0) { double m = sum[j] / cnt[j]; move = Math.max(move, Math.abs(m - e[j])); e[j] = m; }
            if (move < 1e-4) break;
        }
    }

    @Test
    void samplingIsSeededAndKeepsOrder() {
        float[] v = blocks(100, 4, 3);
        float[] a = LoBcqDesign.sample(v, 4, 10, 7), b = LoBcqDesign.sample(v, 4, 10, 7), c = LoBcqDesign.sample(v, 4, 10, 8);
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
        assertEquals(40, a.length);
        assertArrayEquals(v, LoBcqDesign.sample(v, 4, 1000, 7));
    }
}
