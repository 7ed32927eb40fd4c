package io.qbridge.device;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.format.LoBcqFormat;
import org.junit.jupiter.api.Test;

/** The LO-BCQ W4A4 entries of the cycle and energy model (docs/performance-model.md §1). */
class LoBcqPerformanceModelTest {
    @Test
    void w4a4MovesEncodedActivationsAndTakesOneCyclePerMac() {
        LoBcqFormat f = LoBcqFormat.C8_A64;
        int n = 384, k = 1536, m = 64;
        PerformanceModel.LayerProfile p = PerformanceModel.LayerProfile.forShape(f, n, k, 0, 0);
        PerfConfig c = PerfConfig.u55c();
        PerformanceModel.Estimate w4a4 = new PerformanceModel(c, ActivationMode.LOBCQ).estimate(p, m);
        PerformanceModel.Estimate w4a8 = new PerformanceModel(c, ActivationMode.INT8_PER_TOKEN).estimate(p, m);
        // weights once, 36-byte records per 64 activations plus the token's fp32 g, fp32 outputs and bias
        assertEquals(f.packedBytes(n, k) + (long) m * (k / 64 * 36 + 4) + 4L * m * n + 4L * n, w4a4.dramBytes());
        assertEquals(f.packedBytes(n, k) + (long) m * (k + 4) + 4L * m * n + 4L * n, w4a8.dramBytes());
        // one 6 x 6 product per PE per cycle (W4A4), two passes of the 4-bit PE for the 6-bit entry (W4A8)
        long tiles = (long) Math.ceil(m / 64.0) * (n / 64);
        assertEquals(tiles * (k + 64 + 64 - 2), w4a4.computeCycles());
        assertEquals(tiles * (2L * k + 64 + 64 - 2), w4a8.computeCycles());
        // the online encoder is accounted separately and grows with the number of codebooks
        PerformanceModel.Estimate c16 = new PerformanceModel(c, ActivationMode.LOBCQ).estimate(PerformanceModel.LayerProfile.forShape(LoBcqFormat.C16_A64, n, k, 0, 0), m);
        assertTrue(w4a4.auxJoules() > 0 && c16.auxJoules() > w4a4.auxJoules());
        assertEquals(0, w4a4.reconMerges());
        double perMac = (2 * c.pjAdd8() + c.pjMul8x8() * 36 / 64.0 + c.pjAdd32()) * 1e-12;
        assertEquals(perMac * m * n * k, w4a4.macJoules(), 1e-9 * w4a4.macJoules());
    }
}
