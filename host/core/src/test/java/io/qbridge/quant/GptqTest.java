package io.qbridge.quant;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.format.QuantFormat;
import io.qbridge.format.TestWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

class GptqTest {
    private static double[] identity(int k) {
        double[] h = new double[k * k];
        for (int i = 0; i < k; i++) h[i * k + i] = 1;
        return h;
    }

    /** Correlated activations, as real layer inputs are: x = A z with a random mixing matrix. */
    private static float[] correlatedActivations(int rows, int k, long seed) {
        Random rnd = new Random(seed);
        double[] a = new double[k * k];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextGaussian() / Math.sqrt(k) + ((i / k) == (i % k) ? 1 : 0);
        float[] x = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            double[] z = new double[k];
            for (int j = 0; j < k; j++) z[j] = rnd.nextGaussian() * (1 + (j % 7));
            for (int i = 0; i < k; i++) {
                double s = 0;
                for (int j = 0; j < k; j++) s += a[i * k + j] * z[j];
                x[r * k + i] = (float) s;
            }
        }
        return x;
    }

    /** tr((W - Q) H (W - Q)^T). */
    private static double hessianLoss(float[] w, float[] q, double[] h, int n, int k) {
        double loss = 0;
        for (int r = 0; r < n; r++)
            for (int i = 0; i < k; i++) {
                double di = w[r * k + i] - q[r * k + i];
                if (di == 0) continue;
                for (int j = 0; j < k; j++) loss += di * h[i * k + j] * (w[r * k + j] - q[r * k + j]);
            }
        return loss;
    }

    @ParameterizedTest
    @ValueSource(strings = {"rtn-w4g128", "int3-asym-g32", "mxfp4", "mxint8", "microscopiq-w4", "microscopiq-w2", "fineq"})
    void identityHessianEqualsRtn(String name) {
        QuantFormat f = QuantFormat.parse(name);
        int n = 9, k = 160;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 5, 0.02);
        Quantized rtn = Rtn.quantize(f, w, n, k);
        GptqResult g = Gptq.quantize(w, n, k, identity(k), GptqConfig.DEFAULT, f);
        assertEquals(rtn.tensor(), g.tensor());
        assertArrayEquals(rtn.dequantized(), g.dequantized());
        assertNull(g.perm());
    }

    @ParameterizedTest
    @ValueSource(strings = {"rtn-w4g128", "rtn-w3g128", "mxfp4", "microscopiq-w4", "microscopiq-w2", "fineq"})
    void gptqBeatsRtnOnTheHessianWeightedLoss(String name) {
        QuantFormat f = QuantFormat.parse(name);
        int n = 16, k = 48;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 11, 0.02);
        HessianAccumulator acc = new HessianAccumulator(k);
        acc.add(correlatedActivations(256, k, 3), 256);
        double[] h = acc.hessian();
        float[] rtn = Rtn.quantize(f, w, n, k).dequantized();
        GptqResult g = Gptq.quantize(w, n, k, h, GptqConfig.DEFAULT, f);
        double lr = hessianLoss(w, rtn, h, n, k), lg = hessianLoss(w, g.dequantized(), h, n, k);
        assertTrue(lg <= lr, name + ": GPTQ " + lg + " > RTN " + lr);
        // The stored codes dequantize to what GPTQ reports.
        assertArrayEquals(f.dequantize(g.tensor()), g.dequantized());
    }

    /** Two columns, one group: the OBS update w1' = w1 - (w0 - q0) * [H^-1]_01 / [H^-1]_00 = w1 + (w0 - q0) * H_01 / H_11. */
    @Test
    void twoColumnClosedForm() {
        float[] w = {0.23f, 0.25f};
        double[] h = {4, -1.6, -1.6, 1};
        GptqResult g = Gptq.quantize(w, 1, 2, h, new GptqConfig(0, 128, false), QuantFormat.parse("rtn-w4g2"));
        float s = Float.float16ToFloat(Float.floatToFloat16((float) (0.25 / 7))); // scale from the group as it starts
        float q0 = 6 * s;                                        // 0.23 / s = 6.44
        double w1 = 0.25f + (0.23f - q0) * (-1.6);               // 0.2249 -> 6.30 s
        assertEquals(q0, g.dequantized()[0]);
        assertEquals((float) Math.rint(w1 / s) * s, g.dequantized()[1]);
        assertEquals(6 * s, g.dequantized()[1]);                 // RTN would give 7 s
        assertEquals(7 * s, Rtn.quantize(QuantFormat.parse("rtn-w4g2"), w, 1, 2).dequantized()[1]);
    }

    /**
     * MicroScopiQ's shared inlier exponent is decided at a macro-block's first column from all 128 of its columns:
     * GPTQ must have applied every earlier error to them by then, whatever the lazy batch width asked for (48 or
     * 80 would otherwise put macro-block 1's start inside a batch, with columns past the batch still lacking that
     * batch's errors; the span rounds them up to 128). K = 320 ends in a partial macro-block.
     */
    @Test
    void microScopiQMacroDecisionSeesUpdatedWeightsForAnyBatchWidth() {
        QuantFormat f = QuantFormat.parse("microscopiq-w4");
        assertEquals(128, f.columnQuantizer(1, 320).span());
        int n = 8, k = 320;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 22, 0);
        // Macro-block 1's largest inliers sit next to the power of two 0.25 (just below or above by row), so
        // whether its e1 is -2 or -3 depends on the errors fed back from the columns before it.
        for (int r = 0; r < n; r++)
            for (int c = 192; c < 208; c++) w[r * k + c] = (float) (0.0625 * ((c % 4) + 1) * (1 + (r - 4) * 0.002));
        HessianAccumulator acc = new HessianAccumulator(k);
        acc.add(correlatedActivations(400, k, 9), 400);
        double[] h = acc.hessian();
        GptqResult ref = Gptq.quantize(w, n, k, h, new GptqConfig(0.01, 1 << 20, false), f);
        for (int batch : new int[] {16, 48, 80, 128, 256}) {
            GptqResult g = Gptq.quantize(w, n, k, h, new GptqConfig(0.01, batch, false), f);
            int same = 0;
            for (int i = 0; i < w.length; i++) if (g.dequantized()[i] == ref.dequantized()[i]) same++;
            assertTrue(same >= w.length - 2, "batch " + batch + ": " + (w.length - same) + " of " + w.length + " weights differ");
            assertArrayEquals(f.dequantize(g.tensor()), g.dequantized());
        }
    }

    /** Lazy batching is an exact reordering of the same updates: batch width must not change the result. */
    @Test
    void lazyBatchWidthDoesNotChangeTheResult() {
        QuantFormat f = QuantFormat.parse("rtn-w8g16");
        int n = 8, k = 320;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 21, 0.01);
        HessianAccumulator acc = new HessianAccumulator(k);
        acc.add(correlatedActivations(400, k, 8), 400);
        double[] h = acc.hessian();
        GptqResult eager = Gptq.quantize(w, n, k, h, new GptqConfig(0.01, 16, false), f);
        GptqResult lazy = Gptq.quantize(w, n, k, h, new GptqConfig(0.01, 128, false), f);
        GptqResult whole = Gptq.quantize(w, n, k, h, new GptqConfig(0.01, 1 << 20, false), f);
        float[] a = eager.dequantized(), b = lazy.dequantized(), c = whole.dequantized();
        int same = 0;
        for (int i = 0; i < a.length; i++) if (a[i] == b[i] && b[i] == c[i]) same++;
        // Only a rounding tie flipped by a last-bit difference could differ.
        assertTrue(same >= a.length - 2, (a.length - same) + " of " + a.length + " weights differ");
        assertEquals(eager.loss(), lazy.loss(), 1e-6 * eager.loss());
    }

    @Test
    void actOrderPermutesByDescendingDiagonalAndUnpermutes() {
        QuantFormat f = QuantFormat.parse("rtn-w4g32");
        int n = 4, k = 64;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 2, 0.0);
        HessianAccumulator acc = new HessianAccumulator(k);
        acc.add(correlatedActivations(128, k, 4), 128);
        double[] h = acc.hessian();
        GptqResult g = Gptq.quantize(w, n, k, h, GptqConfig.DEFAULT.withActOrder(true), f);
        int[] p = g.perm();
        for (int j = 1; j < k; j++) assertTrue(h[p[j - 1] * k + p[j - 1]] >= h[p[j] * k + p[j]]);
        float[] stored = f.dequantize(g.tensor()); // permuted column order
        for (int r = 0; r < n; r++)
            for (int j = 0; j < k; j++) assertEquals(stored[r * k + j], g.dequantized()[r * k + p[j]]);
        double lr = hessianLoss(w, Rtn.quantize(f, w, n, k).dequantized(), h, n, k);
        assertTrue(hessianLoss(w, g.dequantized(), h, n, k) <= lr);
    }

    @Test
    void deadColumnsAreZeroed() {
        int n = 3, k = 32;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 9, 0.0);
        double[] h = identity(k);
        h[5 * k + 5] = 0;
        GptqResult g = Gptq.quantize(w, n, k, h, GptqConfig.DEFAULT, QuantFormat.parse("rtn-w8g32"));
        for (int r = 0; r < n; r++) assertEquals(0f, g.dequantized()[r * k + 5]);
    }

    @Test
    void malformedInputs() {
        QuantFormat f = QuantFormat.parse("rtn-w4g128");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Gptq.quantize(new float[8], 2, 4, new double[15], GptqConfig.DEFAULT, f))
                .getMessage().contains("k*k = 16"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Gptq.quantize(new float[7], 2, 4, identity(4), GptqConfig.DEFAULT, f))
                .getMessage().contains("does not match shape"));
        double[] neg = identity(4);
        neg[0] = -5;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Gptq.quantize(new float[8], 2, 4, neg, new GptqConfig(0, 128, false), f))
                .getMessage().contains("not positive definite"));
        assertThrows(IllegalArgumentException.class, () -> new GptqConfig(-1, 128, false));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new HessianAccumulator(4).add(new float[7], 2))
                .getMessage().contains("does not match"));
    }
}
