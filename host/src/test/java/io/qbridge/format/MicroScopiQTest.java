package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.quant.Quantized;
import io.qbridge.quant.Rtn;
import org.junit.jupiter.api.Test;

class MicroScopiQTest {
    @Test
    void handComputedBlock() {
        float[] w = {0.1f, -0.2f, 0.3f, 0.05f, 0.15f, -0.25f, 0.12f, 0.0f, 0.08f, -0.1f, 0.2f, 0.22f, -0.18f, 0.07f, 0.11f, 5.0f};
        MicroScopiQTensor t = (MicroScopiQTensor) Rtn.quantizeRtn(MicroScopiQFormat.W4, w, 1, 16);
        assertEquals(15, t.outlierPos()[0]);               // 5.0 > mean + 2 std of |w|
        assertEquals(7, t.prunedPos()[0]);                 // w = 0 has the lowest importance w^2
        assertEquals(t.outlierPos()[1], t.prunedPos()[1]); // other pairs unused
        assertEquals(127 - 2, t.inlierScale()[0] & 0xFF);  // e1 = floor(log2 0.3) = -2
        assertEquals(-4, t.level2()[0]);                   // floor(log2 5) - 8 - e1
        // 5 / 2^-6 = 320 = E4M3 0x7A: upper half 0x7 in slot 15, lower half 0xA in pruned slot 7
        assertEquals(0x7, t.slots()[15]);
        assertEquals(0xA, t.slots()[7]);
        assertEquals(5, t.slots()[2]); // 0.3 * 16 = 4.8 -> 5
        float[] d = MicroScopiQFormat.W4.dequantize(t);
        assertEquals(5.0f, d[15]);
        assertEquals(0f, d[7]);
        assertEquals(0.3125f, d[2]);
    }

    @Test
    void invariantsOnRandomWeights() {
        for (MicroScopiQFormat f : new MicroScopiQFormat[] {MicroScopiQFormat.W4, MicroScopiQFormat.W2,
                new MicroScopiQFormat(4, 16, 1, 2.0, FpElement.E4M3, 4), new MicroScopiQFormat(2, 32, 8, 1.0, FpElement.E2M1, 3)}) {
            int n = 16, k = 256, bb = f.blockSize(), nb = k / bb, cap = f.maxOutliers();
            float[] w = TestWeights.gaussianWithOutliers(n, k, 7, 0.01);
            Quantized q = Rtn.quantize(f, w, n, k);
            MicroScopiQTensor t = (MicroScopiQTensor) q.tensor();
            PackedTensor p = f.pack(t);
            // Every block occupies exactly B slots of b bits in the slot section.
            assertEquals((long) n * k * f.bits() / 8 + (long) n * f.rowMetaBytes(k), p.bytes().length);
            float[] d = q.dequantized();
            MxInt inl = new MxInt(f.bits());
            int outliers = 0;
            for (int r = 0; r < n; r++)
                for (int b = 0; b < nb; b++) {
                    int bi = r * nb + b, c0 = r * k + b * bb;
                    boolean[] used = new boolean[bb];
                    for (int j = 0; j < cap; j++) {
                        int o = t.outlierPos()[bi * cap + j], pr = t.prunedPos()[bi * cap + j];
                        if (o == pr) continue;
                        outliers++;
                        assertFalse(used[o] || used[pr], "positions used once");
                        used[o] = used[pr] = true;
                        assertEquals(0f, d[c0 + pr], "pruned slot dequantizes to 0");
                        // The outlier's value is recoverable from its two halves.
                        int code = (t.slots()[c0 + o] << f.bits()) | t.slots()[c0 + pr];
                        double v = Math.scalb(f.outlierElement().decode(code), (t.inlierScale()[bi] & 0xFF) - 127 + t.level2()[bi]);
                        assertEquals((float) v, d[c0 + o]);
                        // ... and is close to the original (the outlier format does not saturate it).
                        assertEquals(w[c0 + o], d[c0 + o], Math.abs(w[c0 + o]) * (f.bits() == 4 ? 1.0 / 16 : 0.25) + 1e-6,
                                f.id() + " row " + r + " block " + b + " e1=" + ((t.inlierScale()[bi] & 0xFF) - 127) + " d=" + t.level2()[bi] + " code=" + code);
                    }
                    for (int s = 0; s < bb; s++)
                        if (!used[s]) assertEquals((float) Math.scalb(inl.decode(t.slots()[c0 + s]), (t.inlierScale()[bi] & 0xFF) - 127), d[c0 + s]);
                }
            assertEquals(outliers, t.outlierCount());
            assertTrue(outliers > 0, "the injected outliers are detected");
        }
    }

    @Test
    void shapeMustBeAMultipleOfTheBlock() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MicroScopiQFormat.W4.packedBytes(2, 20));
        assertTrue(e.getMessage().contains("multiple of the block size 16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MicroScopiQFormat(4, 16, 9, 2.0, FpElement.E4M3, 4));
        assertThrows(IllegalArgumentException.class, () -> new MicroScopiQFormat(4, 16, 4, 2.0, FpElement.E2M1, 4));
    }

    @Test
    void repeatedPairPositionsAreRejected() {
        MicroScopiQTensor t = (MicroScopiQTensor) Rtn.quantizeRtn(MicroScopiQFormat.W4, new float[16], 1, 16);
        byte[] op = t.outlierPos().clone(), pp = t.prunedPos().clone();
        op[0] = 1; pp[0] = 2; op[1] = 2; pp[1] = 3;
        MicroScopiQTensor bad = new MicroScopiQTensor(t.format(), 1, 16, t.slots(), t.inlierScale(), t.level2(), op, pp);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MicroScopiQFormat.W4.dequantize(bad));
        assertTrue(e.getMessage().contains("repeated"), e.getMessage());
    }
}
