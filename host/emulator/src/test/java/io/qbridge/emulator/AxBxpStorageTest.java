package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.ActivationMode;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.PerformanceModel;
import io.qbridge.device.RunResult;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Ax-BxP's PACKED storage option ({@code docs/performance-model.md} §3): the bits per operand are the spec's table, the
 * option changes the modelled weight and activation traffic by exactly the bytes it saves and nothing else (MAC energy,
 * cycles of compute, outputs), and FXP8 storage, the default, keeps the INT8 path's traffic.
 */
class AxBxpStorageTest {
    static final AxBxp.Window D = AxBxp.Window.DYNAMIC, S = AxBxp.Window.STATIC;

    static int packed(int k, int kept, AxBxp.Window w) {
        return AxBxpCost.storedBits(new AxBxp.Operand(k, kept, w), AxBxp.Storage.PACKED);
    }

    @Test
    void packedBitsPerOperandAreTheSpecsTable() {
        // K = 2, N = 4, DYNAMIC: 1 + 2 + 2, 1 + 2 + 4, 1 + 1 + 6; STATIC: 1 + 2L; all blocks: the 8-bit code
        assertEquals(5, packed(2, 1, D));
        assertEquals(7, packed(2, 2, D));
        assertEquals(8, packed(2, 3, D));
        assertEquals(3, packed(2, 1, S));
        assertEquals(5, packed(2, 2, S));
        assertEquals(7, packed(2, 3, S));
        assertEquals(8, packed(2, 4, D));
        assertEquals(8, packed(2, 4, S));
        // K = 4, N = 2: 1 + 1 + 4; exact at L = 2
        assertEquals(6, packed(4, 1, D));
        assertEquals(8, packed(4, 2, D));
        // FXP8 storage: every operand is its 8-bit code
        for (int k = 1; k <= 4; k++)
            for (int l = 1; l <= AxBxp.blocks(k); l++)
                for (AxBxp.Window w : AxBxp.Window.values()) {
                    assertEquals(8, AxBxpCost.storedBits(new AxBxp.Operand(k, l, w), AxBxp.Storage.FXP8));
                    assertTrue(packed(k, l, w) <= 8, k + " " + l + " " + w + ": packing never costs more than the code");
                }
    }

    @Test
    void theCanonicalStringNamesTheStorage() {
        AxBxp.Config c = AxBxpPlan.parse("k2-x1d-w2d-full-packed");
        assertEquals(AxBxp.Storage.PACKED, c.storage());
        assertEquals("k2-x1d-w2d-full-packed", AxBxpPlan.format(c));
        assertEquals(AxBxp.Storage.FXP8, AxBxpPlan.parse("k2-x1d-w2d-full").storage());
        assertEquals(c, AxBxpPlan.parse("k2-x1d-w2d-full").withStorage(AxBxp.Storage.PACKED));
        assertThrows(IllegalArgumentException.class, () -> AxBxpPlan.parse("k2-x1d-w2d-full-fxp8"));
        assertEquals(Map.of("axbxp.l", "k2-x2d-w3d-sig1-packed"), AxBxpPlan.fromSettings(Map.of("axbxp.l", "k2-x2d-w3d-sig1-packed")).toSettings());
    }

    @Test
    void packedStorageChangesOnlyTheTrafficAndFxp8KeepsTheInt8Traffic() {
        PerfConfig perf = PerfConfig.u55c();
        int n = 384, k = 384, m = 64;
        QuantFormat f = QuantFormat.parse("rtn-w8g128");
        PackedTensor p = HlsVectors.pack(f, HlsVectors.weights(n, k, 3, false), n, k);
        PerformanceModel.LayerProfile profile = WeightDecoder.decode(p).profile(p.bytes().length);
        PerformanceModel axbxp = new PerformanceModel(perf, ActivationMode.AXBXP), int8 = new PerformanceModel(perf, ActivationMode.INT8_PER_TOKEN);
        AxBxp.Config fx = AxBxpPlan.parse("k2-x1d-w2d-full"), pk = fx.withStorage(AxBxp.Storage.PACKED);
        PerformanceModel.Estimate ef = axbxp.estimate(profile, m, AxBxpCost.pe(fx, perf)), ep = axbxp.estimate(profile, m, AxBxpCost.pe(pk, perf));
        PerformanceModel.Estimate ei = int8.estimate(profile, m);
        // FXP8 storage: operands stay 8-bit in memory, so the traffic is the INT8 per-token path's
        assertEquals(ei.dramBytes(), ef.dramBytes());
        assertEquals(ei.sramBytes(), ef.sramBytes());
        // PACKED: weights at 7 bits (DYNAMIC, L = 2), activations at 5 (L = 1); both fit their buffers, so each moves once
        long saved = (long) n * k * (8 - 7) / 8 + (long) m * k * (8 - 5) / 8;
        assertEquals(27_648, saved);
        assertEquals(ef.dramBytes() - saved, ep.dramBytes());
        assertTrue(ep.sramBytes() < ef.sramBytes());
        assertTrue(ep.energyJoules() < ef.energyJoules());
        assertEquals(Double.doubleToLongBits(ef.macJoules()), Double.doubleToLongBits(ep.macJoules()), "the datapath is unchanged");
        assertEquals(Double.doubleToLongBits(ef.scaleJoules()), Double.doubleToLongBits(ep.scaleJoules()));
        assertEquals(ef.computeCycles(), ep.computeCycles());
        assertEquals(ef.macs(), ep.macs());
    }

    @Test
    void theDeviceComputesTheSameOutputsEitherWay() {
        PerfConfig perf = PerfConfig.u55c();
        AxBxp.Config fx = AxBxpPlan.parse("k2-x2d-w3d-sig1"), pk = fx.withStorage(AxBxp.Storage.PACKED);
        EmulatorConfig base = EmulatorConfig.anyFormat(perf).withActivations(ActivationMode.AXBXP);
        int n = 48, k = 256, tokens = 5;
        PackedTensor p = HlsVectors.pack(QuantFormat.parse("rtn-w8g128"), HlsVectors.weights(n, k, 5, true), n, k);
        float[] x = HlsVectors.activations(tokens, k, new Random(6).nextLong(), true);
        float[] yf = new float[tokens * n], yp = new float[tokens * n];
        RunResult rf, rp;
        try (EmulatorAccelerator a = new EmulatorAccelerator(base.withAxBxp(AxBxpPlan.uniform(fx)));
             EmulatorAccelerator b = new EmulatorAccelerator(base.withAxBxp(AxBxpPlan.uniform(pk)))) {
            LayerHandle ha = a.load("l", p, null), hb = b.load("l", p, null);
            rf = a.run(ha, x, tokens, yf);
            rp = b.run(hb, x, tokens, yp);
        }
        assertArrayEquals(yf, yp, 0f);
        assertTrue(rp.bytesMoved() < rf.bytesMoved(), rp.bytesMoved() + " vs " + rf.bytesMoved());
    }
}
