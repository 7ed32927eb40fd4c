package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.quant.Gptq;
import io.qbridge.quant.GptqConfig;
import io.qbridge.quant.GptqResult;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The official repository's MicroScopiQ choices: blocks along the output dimension, pruning across the column. */
class MicroScopiQOfficialTest {
    private static final int N = 64, K = 24;

    /** Gaussian weights plus planted outliers at known (row, column) positions: rows 5 and 37 of every column, 40x larger. */
    private static float[] layer(long seed) {
        float[] w = TestWeights.gaussianWithOutliers(N, K, seed, 0.0);
        for (int c = 0; c < K; c++) {
            w[5 * K + c] = 0.02f * 40 * (c % 2 == 0 ? 1 : -1);
            w[37 * K + c] = -0.02f * 40;
        }
        return w;
    }

    private static MicroScopiQOfficial of(int bits) {
        return bits == 4 ? MicroScopiQOfficial.W4 : MicroScopiQOfficial.W2;
    }

    /** The outlier rule computed here independently: |w| > mean(|w|) + 2 std(|w|) (n-1) over each block of 16 rows. */
    private static boolean[] expectedOutliers(double[] col) {
        boolean[] out = new boolean[col.length];
        for (int r0 = 0; r0 < col.length; r0 += 16) {
            double mean = 0, var = 0;
            for (int r = r0; r < r0 + 16; r++) mean += Math.abs(col[r]) / 16;
            for (int r = r0; r < r0 + 16; r++) var += Math.pow(Math.abs(col[r]) - mean, 2) / 15;
            for (int r = r0; r < r0 + 16; r++) out[r] = Math.abs(col[r]) > mean + 2 * Math.sqrt(var) + 1e-12;
        }
        return out;
    }

    private static double[] column(float[] w, int c) {
        double[] col = new double[N];
        for (int r = 0; r < N; r++) col[r] = w[r * K + c];
        return col;
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 2})
    void prunesAsManyOfTheColumnsSmallestNonOutliersAsItHasOutliers(int bits) {
        float[] w = layer(11);
        MicroScopiQOfficial.Quantizer q = of(bits).columnQuantizer(N, K);
        float[] deq = of(bits).rtn(w, N, K).dequantized();
        for (int c = 0; c < K; c++) {
            double[] col = column(w, c);
            q.prepareColumn(c, col);
            byte[] role = q.roles();
            boolean[] expected = expectedOutliers(col);
            assertTrue(expected[5] && expected[37], "planted outliers are found in column " + c);
            int outliers = 0, pruned = 0;
            for (int r = 0; r < N; r++) {
                assertEquals(expected[r], role[r] == MicroScopiQOfficial.Quantizer.OUTLIER, "column " + c + " row " + r);
                if (role[r] == MicroScopiQOfficial.Quantizer.OUTLIER) outliers++;
                if (role[r] == MicroScopiQOfficial.Quantizer.PRUNED) pruned++;
            }
            assertEquals(outliers, pruned, "column " + c);
            // The pruned rows are the column's `outliers` smallest-|w| non-outliers, wherever their blocks are.
            List<Integer> inliers = new ArrayList<>(IntStream.range(0, N).filter(r -> !expected[r]).boxed().toList());
            inliers.sort(Comparator.comparingDouble((Integer r) -> Math.abs(col[r])).thenComparingInt(r -> r));
            for (int i = 0; i < inliers.size(); i++) {
                int r = inliers.get(i);
                assertEquals(i < outliers, role[r] == MicroScopiQOfficial.Quantizer.PRUNED, "column " + c + " row " + r);
                if (i < outliers) assertEquals(0f, deq[r * K + c], "pruned weight is zero");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 2})
    void everyValueIsOnItsBlocksInlierOrOutlierGrid(int bits) {
        float[] w = layer(12);
        MicroScopiQOfficial sim = of(bits);
        float[] deq = sim.rtn(w, N, K).dequantized();
        MicroScopiQOfficial.Quantizer q = sim.columnQuantizer(N, K);
        FpElement elem = sim.base().outlierElement();
        int maxCode = (1 << (bits - 1)) - 1;
        int outlierValues = 0;
        for (int c = 0; c < K; c++) {
            double[] col = column(w, c);
            q.prepareColumn(c, col);
            byte[] role = q.roles();
            for (int b = 0; b < N / 16; b++) {
                double maxIn = 0;
                for (int r = b * 16; r < b * 16 + 16; r++) if (role[r] == MicroScopiQOfficial.Quantizer.INLIER) maxIn = Math.max(maxIn, Math.abs(col[r]));
                int eb = Math.getExponent(maxIn); // E8M0 rule with MX-INT emax 0, computed here
                assertEquals(eb, q.inlierExponent(b));
                for (int r = b * 16; r < b * 16 + 16; r++) {
                    double v = deq[r * K + c];
                    if (role[r] == MicroScopiQOfficial.Quantizer.OUTLIER) {
                        double x = Math.scalb(v, -(eb + q.level2(b)));
                        assertEquals(x, elem.decode(elem.encode(x)), "outlier on its element grid, column " + c + " row " + r);
                        assertEquals(col[r], v, Math.abs(col[r]) * 0.26, "outlier keeps its magnitude");
                        outlierValues++;
                    } else if (v != 0) {
                        double steps = Math.scalb(v, -(eb + 2 - bits));
                        assertEquals(Math.rint(steps), steps, "inlier on its block's grid, column " + c + " row " + r);
                        assertTrue(Math.abs(steps) <= maxCode);
                    }
                }
            }
        }
        assertTrue(outlierValues >= 2 * K);
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 2})
    void gptqWithAnIdentityHessianIsRtn(int bits) {
        float[] w = layer(13);
        double[] h = new double[K * K];
        for (int i = 0; i < K; i++) h[i * K + i] = 1;
        MicroScopiQOfficial sim = of(bits);
        MicroScopiQOfficial.Quantizer q = sim.columnQuantizer(N, K);
        GptqResult g = Gptq.simulate(w, N, K, h, GptqConfig.DEFAULT, q);
        MicroScopiQOfficial.Simulated rtn = sim.rtn(w, N, K);
        assertNull(g.tensor());
        assertArrayEquals(rtn.dequantized(), g.dequantized());
        assertEquals(rtn.storedBits(), q.storedBits());
    }

    @Test
    void gptqFeedsTheErrorBackWithACorrelatedHessian() {
        float[] w = layer(14);
        Random rnd = new Random(3);
        double[] x = new double[200 * K];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextGaussian() + (i % K == 0 ? 0 : 0.8 * x[i - 1]);
        double[] h = new double[K * K];
        for (int s = 0; s < 200; s++)
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++) h[i * K + j] += x[s * K + i] * x[s * K + j];
        float[] g = Gptq.simulate(w, N, K, h, GptqConfig.DEFAULT, MicroScopiQOfficial.W2.columnQuantizer(N, K)).dequantized();
        float[] r = MicroScopiQOfficial.W2.rtn(w, N, K).dequantized();
        assertTrue(loss(w, g, h) < loss(w, r, h), "GPTQ's output error " + loss(w, g, h) + " is below RTN's " + loss(w, r, h));
    }

    private static double loss(float[] w, float[] q, double[] h) {
        double loss = 0;
        for (int r = 0; r < N; r++)
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++) loss += (w[r * K + i] - q[r * K + i]) * h[i * K + j] * (w[r * K + j] - q[r * K + j]);
        return loss;
    }

    @Test
    void storedBitsCountSlotsBlockScalesAndPositions() {
        float[] flat = new float[N * K];
        java.util.Arrays.fill(flat, 0.01f); // no outliers: b bits per slot + 16 scale bits per block of 16
        assertEquals(4.0 + 1.0, (double) MicroScopiQOfficial.W4.rtn(flat, N, K).storedBits() / (N * K));
        float[] w = layer(15);
        MicroScopiQOfficial.Quantizer q = MicroScopiQOfficial.W2.columnQuantizer(N, K);
        for (int c = 0; c < K; c++) {
            q.prepareColumn(c, column(w, c));
            for (int r = 0; r < N; r++) q.quantize(r, c, w[r * K + c]);
        }
        // per outlier 4 bits (position in a block of 16) + 6 bits (pruned row among N = 64)
        assertEquals((long) N * K * 2 + 16L * (N / 16) * K + q.outliers() * 10, q.storedBits());
        assertTrue(q.outliers() >= 2 * K);
    }

    @Test
    void rejectsShapesAndHasNoCodes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MicroScopiQOfficial.W4.columnQuantizer(40, 16));
        assertTrue(e.getMessage().contains("n = 40 is not a multiple of the block size 16"), e.getMessage());
        UnsupportedOperationException u = assertThrows(UnsupportedOperationException.class, () -> MicroScopiQOfficial.W4.columnQuantizer(16, 16).finish());
        assertTrue(u.getMessage().contains("no packed byte layout"), u.getMessage());
    }
}
