package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.format.TestWeights;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The decode kernel ({@link MatVecKernel}, calls of at most {@link MatVecKernel#MAX_ROWS} tokens) against the
 * tiled {@link Datapath} that runs every other call: the same bits for every output, on random layers of odd
 * shapes, on real MiniLM layers, and against the exact reference.
 */
class MatVecKernelTest {
    /** Outputs of the same layer and tokens with and without the decode kernel; fails on the first differing bit. */
    static MatVecKernel compare(PackedTensor p, float[] x, int rows, float[] bias, String what) {
        try (EmulatorAccelerator fast = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), true);
             EmulatorAccelerator tiled = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), false)) {
            LayerHandle hf = fast.load(p, bias), ht = tiled.load(p, bias);
            assertNull(tiled.matVecKernel(ht));
            float[] a = new float[rows * p.n()], b = new float[rows * p.n()];
            fast.run(hf, x, rows, a);
            tiled.run(ht, x, rows, b);
            for (int i = 0; i < a.length; i++) {
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i]))
                    fail(what + ": output [" + i / p.n() + "][" + i % p.n() + "] = " + a[i] + " with the decode kernel, " + b[i] + " tiled");
            }
            return fast.matVecKernel(hf);
        }
    }

    @Test
    void aKernelsReusedBuffersGiveEachCallItsOwnBits() {
        // a kernel's calls take their buffers from its pool: a call after a bigger one (stale codes past its rows, an odd
        // K's padding column) and after a smaller one (a buffer too small, made anew) equals the tiled datapath
        Random rnd = new Random(41);
        for (String id : List.of("rtn-w4g128", "microscopiq-w4", "mxint8")) {
            int n = 70, k = id.startsWith("microscopiq") ? 16 * 9 : 301;
            PackedTensor p = EmulatorExactnessTest.pack(QuantFormat.parse(id), TestWeights.gaussianWithOutliers(n, k, rnd.nextLong(), 0.02), n, k);
            float[] bias = TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0);
            try (EmulatorAccelerator fast = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), true);
                 EmulatorAccelerator tiled = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), false)) {
                fast.expectDecoding();
                LayerHandle hf = fast.load(p, bias), ht = tiled.load(p, bias);
                assertNotNull(fast.matVecKernel(hf), id);
                for (int rows : new int[] {7, 1, 3, 1, 8, 2}) {
                    float[] x = EmulatorExactnessTest.activations(rows, k, rnd.nextLong());
                    float[] a = new float[rows * n], b = new float[rows * n];
                    fast.run(hf, x, rows, a);
                    tiled.run(ht, x, rows, b);
                    for (int i = 0; i < a.length; i++) {
                        if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i]))
                            fail(id + " x " + rows + ": output [" + i / n + "][" + i % n + "] = " + a[i] + " with the decode kernel, " + b[i] + " tiled");
                    }
                }
            }
        }
    }

    @Test
    void theThreeDecodeFormatsTakeTheKernelWithTheExpectedPlane() {
        int n = 96, k = 256;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 21, 0.02);
        // MicroScopiQ's outliers do not fit 4-bit codes on the block's grid: they would go to the side list, whose
        // budget for 4 bits (1/128 of the weights) they exceed, so its layers take 8-bit codes
        for (var e : java.util.Map.of("rtn-w4g128", 4, "microscopiq-w4", 8, "mxint8", 8).entrySet()) {
            PackedTensor p = EmulatorExactnessTest.pack(QuantFormat.parse(e.getKey()), w, n, k);
            MatVecKernel m = compare(p, EmulatorExactnessTest.activations(1, k, 3), 1, null, e.getKey());
            assertNotNull(m, e.getKey() + " has a decode kernel");
            assertEquals(e.getValue(), m.planeBits(), e.getKey());
            assertTrue(m.sideEntries() <= n * k / 16, e.getKey() + " side list " + m.sideEntries());
            if (!e.getKey().startsWith("microscopiq")) assertEquals(0, m.sideEntries(), e.getKey());
            // power-of-two block scales (MX, MicroScopiQ): blocks merged into one int32 sum and one fold per group
            if (e.getKey().startsWith("rtn")) assertEquals(1, m.blocksPerFold(), e.getKey());
            else assertTrue(m.blocksPerFold() > 1, e.getKey() + " folds every " + m.blocksPerFold() + " blocks");
        }
    }

    @Test
    void blocksWhoseGridsAreTooFarApartAreFoldedOneByOne() {
        // mxint8 rows whose 32-blocks alternate between weights near 1 and near 2^-40: a merged group's int32 sum
        // would need shifts of 40 bits, so the proof refuses to merge them (and, where grids are close, merges them)
        int n = 40, k = 512;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 31, 0.02);
        for (int j = 0; j < n; j++)
            for (int c = 0; c < k; c++) if ((c / 32) % 2 == 1 && j % 2 == 0) w[j * k + c] *= 0x1p-40f;
        PackedTensor far = EmulatorExactnessTest.pack(QuantFormat.parse("mxint8"), w, n, k);
        for (int rows : new int[] {1, 4}) {
            MatVecKernel m = compare(far, EmulatorExactnessTest.activations(rows, k, 40 + rows), rows, null, "mxint8, far grids x " + rows);
            assertNotNull(m);
            assertEquals(1, m.blocksPerFold(), "merged despite 40-bit shifts");
            assertEquals(0, EmulatorExactnessTest.check(far, EmulatorExactnessTest.activations(rows, k, 50 + rows), rows, null, "far grids"));
        }
    }

    @Test
    void decodeKernelEqualsTheTiledDatapathOnRandomOddShapes() {
        Random rnd = new Random(17);
        int withKernel = 0, withSideList = 0, withNibbles = 0;
        for (String id : EmulatorExactnessTest.FORMATS) {
            QuantFormat f = QuantFormat.parse(id);
            for (int trial = 0; trial < 4; trial++) {
                int n = new int[] {1, 31, 33 + rnd.nextInt(40), 67}[trial];
                int k = f instanceof MicroScopiQFormat m ? m.blockSize() * (1 + rnd.nextInt(24)) : new int[] {257, 130, 1 + rnd.nextInt(300), 384}[trial];
                int rows = 1 + (trial == 0 ? 0 : rnd.nextInt(MatVecKernel.MAX_ROWS));
                float[] bias = trial % 2 == 1 ? null : TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0);
                PackedTensor p = EmulatorExactnessTest.pack(f, TestWeights.gaussianWithOutliers(n, k, rnd.nextLong(), 0.03), n, k);
                float[] x = EmulatorExactnessTest.activations(rows, k, rnd.nextLong());
                MatVecKernel m = compare(p, x, rows, bias, id + " [" + n + "x" + k + "] x " + rows);
                if (m != null) withKernel++;
                if (m != null && m.sideEntries() > 0) withSideList++;
                if (m != null && m.planeBits() == 4) withNibbles++;
            }
        }
        assertTrue(withKernel >= 40, "layers that took the decode kernel: " + withKernel);
        // both planes and the side list are exercised
        assertTrue(withSideList > 0 && withNibbles > 0 && withNibbles < withKernel, withSideList + " with a side list, " + withNibbles + " on 4 bits");
    }

    @Test
    void decodeKernelMatchesTheExactReference() {
        Random rnd = new Random(23);
        for (String id : List.of("rtn-w4g128", "microscopiq-w4", "mxint8")) {
            for (int rows : new int[] {1, 2, 7}) {
                int n = 65, k = id.startsWith("microscopiq") ? 16 * 21 : 301;
                PackedTensor p = EmulatorExactnessTest.pack(QuantFormat.parse(id), TestWeights.gaussianWithOutliers(n, k, rnd.nextLong(), 0.03), n, k);
                assertEquals(0, EmulatorExactnessTest.check(p, EmulatorExactnessTest.activations(rows, k, rnd.nextLong()), rows,
                        TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0), id + " x " + rows), id);
            }
        }
    }

    @Test
    void realMiniLmLayersAreBitIdenticalOnTheDecodeKernel() {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        List<String> picked = List.of("encoder.layer.0.attention.self.query", "encoder.layer.2.intermediate.dense", "encoder.layer.5.output.dense");
        for (String id : List.of("rtn-w4g128", "microscopiq-w4", "mxint8")) {
            EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, QuantRecipe.parse(id + "@rtn"), List.of(), null);
            int seen = 0;
            for (QuantizedLayer l : r.layers()) {
                if (picked.stream().noneMatch(l.name()::startsWith)) continue;
                seen++;
                for (int rows : new int[] {1, 5}) {
                    assertNotNull(compare(l.packed(), EmulatorExactnessTest.activations(rows, l.packed().k(), seen * 10 + rows), rows, l.bias(),
                            id + " " + l.name() + " x " + rows), id + " " + l.name() + " has a decode kernel");
                }
            }
            assertEquals(3, seen, id);
        }
    }

    @Test
    void worstCaseBlockSumsStayExact() {
        // every weight at its largest code and every activation at 127: the block sums reach the §4 worst case
        // (rtn-w4g128: 7 * 127 * 128 > 2^15), so a 16-bit chunk longer than the proven one would wrap
        int n = 70, k = 512;
        float[] w = new float[n * k];
        for (int j = 0; j < n; j++) for (int c = 0; c < k; c++) w[j * k + c] = j % 3 == 0 ? -1f : 1f;
        for (int rows : new int[] {1, 3}) {
            float[] x = new float[rows * k];
            java.util.Arrays.fill(x, 0.5f);
            for (String id : List.of("rtn-w4g128", "microscopiq-w4", "mxint8")) {
                PackedTensor p = EmulatorExactnessTest.pack(QuantFormat.parse(id), w, n, k);
                assertNotNull(compare(p, x, rows, null, id + " worst case x " + rows), id);
                assertEquals(0, EmulatorExactnessTest.check(p, x, rows, null, id + " worst case"), id);
            }
        }
    }

    @Test
    void layersTheKernelCannotHoldStayOnTheDatapath() {
        int n = 40, k = 64;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 3, 0.1);
        for (int i = 0; i < w.length; i += 37) w[i] *= 1e4f;
        // E5M2 with large outliers needs int64 block sums; asymmetric INT has zero points
        for (String id : List.of("mxfp8-e5m2", "int4-asym-g128")) {
            PackedTensor p = EmulatorExactnessTest.pack(QuantFormat.parse(id), w, n, k);
            assertNull(compare(p, EmulatorExactnessTest.activations(1, k, 4), 1, null, id), id);
        }
    }

    @Test
    void aSharedInputCallOfMixedWidthsIsEachLayerOnTheTiledDatapath() {
        // 8-bit (split codes) and 4-bit planes in one fan-out, an odd K (the padded column), a bias on one layer only
        int k = 97;
        String[] ids = {"rtn-w8g32", "rtn-w4g32", "mxint8", "rtn-w4g128"};
        int[] ns = {40, 17, 9, 33};
        Random rnd = new Random(31);
        PackedTensor[] ps = new PackedTensor[ids.length];
        float[][] biases = new float[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            ps[i] = EmulatorExactnessTest.pack(QuantFormat.parse(ids[i]), TestWeights.gaussianWithOutliers(ns[i], k, rnd.nextLong(), 0.03), ns[i], k);
            if (i == 1) {
                biases[i] = new float[ns[i]];
                for (int j = 0; j < ns[i]; j++) biases[i][j] = (float) rnd.nextGaussian();
            }
        }
        try (EmulatorAccelerator fast = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), true);
             EmulatorAccelerator tiled = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), false)) {
            fast.expectDecoding();
            LayerHandle[] hf = new LayerHandle[ids.length], ht = new LayerHandle[ids.length];
            for (int i = 0; i < ids.length; i++) {
                hf[i] = fast.load(ps[i], biases[i]);
                ht[i] = tiled.load(ps[i], biases[i]);
                assertNotNull(fast.matVecKernel(hf[i]), ids[i] + " takes the decode kernel");
            }
            for (int rows = 1; rows <= MatVecKernel.MAX_ROWS; rows++) {
                float[] x = EmulatorExactnessTest.activations(rows, k, 100 + rows);
                float[][] shared = new float[ids.length][];
                for (int i = 0; i < ids.length; i++) shared[i] = new float[rows * ns[i]];
                fast.runShared(hf, x, rows, shared);
                for (int i = 0; i < ids.length; i++) {
                    float[] alone = new float[rows * ns[i]];
                    tiled.run(ht[i], x, rows, alone);
                    for (int o = 0; o < alone.length; o++) {
                        if (Float.floatToRawIntBits(shared[i][o]) != Float.floatToRawIntBits(alone[o]))
                            fail(ids[i] + " x " + rows + ": output [" + o / ns[i] + "][" + o % ns[i] + "] = " + shared[i][o] + " shared, " + alone[o] + " tiled");
                    }
                }
            }
        }
    }
}
