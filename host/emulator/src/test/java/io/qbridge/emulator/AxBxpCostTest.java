package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.device.PerfConfig;
import org.junit.jupiter.api.Test;

/** The block-multiplier PE's throughput and energy against FxP8 (docs/performance-model.md §3). */
class AxBxpCostTest {
    @Test
    void fxp8IsTheInt8MacAndFewerBlocksCostLess() {
        PerfConfig c = PerfConfig.u55c();
        AxBxpCost cost = AxBxpCost.defaults(2, c);
        assertEquals(16, cost.multipliersPerPe());
        assertEquals(c.pjMul8x8() + c.pjAdd32(), cost.fxp8PjPerMac(2, c), 1e-12);
        AxBxp.Config exact = AxBxp.Config.full(2, 4, 4, AxBxp.Window.DYNAMIC);
        assertEquals(1, cost.macsPerCycle(exact));
        assertEquals(cost.fxp8PjPerMac(2, c), cost.pjPerMac(exact, c), 1e-12); // all blocks kept: no window to select
        AxBxp.Config twoTwo = AxBxp.Config.full(2, 2, 2, AxBxp.Window.DYNAMIC);
        assertEquals(4, cost.macsPerCycle(twoTwo));
        assertEquals(4 * c.pjMul8x8() / 16 + c.pjAdd32() + 2 * c.pjAdd8(), cost.pjPerMac(twoTwo, c), 1e-12);
        AxBxp.Config top = new AxBxp.Config(twoTwo.x(), twoTwo.w(), AxBxp.Mask.significance(2, 2, 1));
        assertEquals(3, top.mask().size());
        assertEquals(5, cost.macsPerCycle(top));
        assertTrue(cost.pjPerMac(top, c) < cost.pjPerMac(twoTwo, c));
    }
}
