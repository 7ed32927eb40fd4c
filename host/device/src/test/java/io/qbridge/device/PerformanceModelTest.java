package io.qbridge.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.RunResult;
import io.qbridge.format.QuantFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cycle and energy model's equations on hand-computable cases (docs/performance-model.md §1). */
class PerformanceModelTest {
    /** A layer of the given shape with {@code outliers} and {@code pulses} in total (as counts, not rates). */
    static PerformanceModel.LayerProfile layer(String format, int n, int k, long outliers, long pulses) {
        double weights = (double) n * k;
        return PerformanceModel.LayerProfile.forShape(QuantFormat.parse(format), n, k, outliers / weights, pulses / weights);
    }

    @Test
    void cyclesFollowTheTilingEquation() {
        PerformanceModel m = new PerformanceModel(PerfConfig.u55c());
        // INT4 on 4-bit PEs: 1 cycle per product; 128 tokens x 256 outputs on 64 x 64 = 2 x 4 tiles of K + 126 cycles
        PerformanceModel.Estimate e = m.estimate(layer("rtn-w4g128", 256, 512, 0, 0), 128);
        assertEquals(8L * (512 + 126), e.computeCycles());
        assertEquals(128L * 256 * 512, e.macs());
        // 8-bit elements take two passes, 2-bit weights pack two per cycle
        assertEquals(8L * (2 * 512 + 126), m.estimate(layer("mxint8", 256, 512, 0, 0), 128).computeCycles());
        assertEquals(8L * (512 / 2 + 126 + 6), m.estimate(layer("microscopiq-w2", 256, 512, 100, 0), 128).computeCycles());
        // FineQ: mean pulses per weight replace the multiply (here 2 pulses per weight)
        assertEquals(8L * (2 * 512 + 126), m.estimate(layer("fineq", 256, 512, 0, 2L * 256 * 512), 128).computeCycles());
    }

    @Test
    void reconStallsOnlyWhenMergesOutrunItsThroughput() {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("reconMergesPerCycle", "32");
        PerformanceModel global = new PerformanceModel(PerfConfig.apply(PerfConfig.u55c(), p));
        PerformanceModel perRow = new PerformanceModel(PerfConfig.u55c());
        PerformanceModel.LayerProfile l = layer("microscopiq-w4", 256, 512, 256L * 512 / 20, 0); // 5 % outliers
        // 64 x 64 x 0.05 = 204.8 merges per step: 6.4 cycles on one global ReCoN, hidden with one per row
        assertEquals(8L * (long) Math.ceil(512 * 6.4 + 126 + 6), global.estimate(l, 128).computeCycles(), 8);
        assertEquals(8L * (512 + 126 + 6), perRow.estimate(l, 128).computeCycles());
        assertEquals(128L * l.outliers(), perRow.estimate(l, 128).reconMerges());
    }

    @Test
    void boundAndEnergyRespondToBandwidthAndPrecision() {
        PerformanceModel.LayerProfile w4 = layer("rtn-w4g128", 4096, 4096, 0, 0);
        java.util.Properties slow = new java.util.Properties();
        slow.setProperty("offChipBytesPerSecond", "1e9");
        slow.setProperty("dataflow", "weight_stationary");
        PerformanceModel.Estimate e = new PerformanceModel(PerfConfig.apply(PerfConfig.u250(), slow)).estimate(w4, 1);
        assertEquals(RunResult.Bound.MEMORY, e.bound());
        assertEquals(e.memoryCycles(), e.cycles());
        // fewer weight bits: less multiplier and memory energy, same everything else
        PerformanceModel m = new PerformanceModel(PerfConfig.u55c());
        assertTrue(m.estimate(w4, 64).energyJoules() < m.estimate(layer("rtn-w8g128", 4096, 4096, 0, 0), 64).energyJoules());
        assertTrue(m.estimate(w4, 64).dramBytes() < m.estimate(layer("rtn-w8g128", 4096, 4096, 0, 0), 64).dramBytes());
    }

    @Test
    void propertiesFileOverridesAPreset(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("perf.properties");
        Files.writeString(f, "preset=u250\narrayRows=16\nclockMhz=250\n");
        PerfConfig c = PerfConfig.load(f);
        assertEquals(16, c.arrayRows());
        assertEquals(64, c.arrayCols());
        assertEquals(250, c.clockMhz());
        assertEquals(77e9, c.offChipBytesPerSecond());
        assertTrue(c.preset().startsWith("u250"));
    }

    @Test
    void performanceModelCountsOneE8M0BytePer32ActivationsInsteadOfAnFp32PerToken() {
        PerformanceModel.LayerProfile l = layer("microscopiq-w4", 384, 1536, 100, 0);
        int m = 100;
        PerformanceModel.Estimate int8 = new PerformanceModel(PerfConfig.u55c()).estimate(l, m);
        PerformanceModel.Estimate mx = new PerformanceModel(PerfConfig.u55c(), ActivationMode.MXINT8_BLOCK32).estimate(l, m);
        assertEquals(int8.dramBytes() - 4L * m + (long) m * (1536 / 32), mx.dramBytes());
        assertEquals(int8.macs(), mx.macs());
        assertEquals(int8.computeCycles(), mx.computeCycles());
        // 16-blocks already cut the 32-blocks: as many folds, each with one more exponent add, and no per-token multiply
        PerfConfig c = PerfConfig.u55c();
        double expected = (double) m * 384 * 96 * (3 * c.pjAdd32()) * 1e-12;
        assertEquals(expected, mx.scaleJoules(), expected * 1e-12);
    }
}
