package io.qbridge.emulator;

import io.qbridge.device.PerfConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.qbridge.device.LayerHandle;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.format.TestWeights;
import io.qbridge.quant.Rtn;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The emulator against the exact reference, for every format: bit for bit wherever the hardware
 * arithmetic is exact (every format but asymmetric INT, whose zero-point correction rounds once in fp64),
 * within the documented bound everywhere, on random shapes (odd K, K not a multiple of the block, partial
 * groups, partial FineQ clusters) and random weights with outliers.
 */
class EmulatorExactnessTest {
    static final List<String> FORMATS = List.of("rtn-w4g128", "int4-asym-g128", "mxint8", "mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e2m3",
            "mxfp6-e3m2", "mxfp4", "microscopiq-w4", "microscopiq-w2", "microscopiq-w4-c4", "microscopiq-w2-c4",
            "microscopiq-w4-b16-m8-o1-s2.0-e4m3-i0-l3b-7", "microscopiq-w2-b16-m4-o2-s2.0-e2m1-i2-l2b0", "fineq");

    /** Runs one packed layer through the emulator and the reference; returns outputs that differ bitwise. */
    static int check(PackedTensor p, float[] x, int rows, float[] bias, String what) {
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
            LayerHandle h = dev.load(p, bias);
            float[] y = new float[rows * p.n()];
            dev.run(h, x, rows, y);
            int[] q = new int[rows * p.k()];
            float[] xs = new float[rows];
            ActivationQuantizer.quantize(x, p.k(), rows, q, xs);
            ExactReference.Result ref = ExactReference.run(p, q, xs, rows, bias);
            int blocks = dev.datapath(h).weights().blocks();
            boolean rounds = ExactReference.hardwareRounds(p);
            int differ = 0;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < p.n(); j++) {
                    int i = r * p.n() + j;
                    float a = y[i], b = ref.y()[i];
                    if (Float.floatToIntBits(a) == Float.floatToIntBits(b)) continue;
                    differ++;
                    if (!rounds && blocks == 1) fail(what + ": single-block output [" + r + "][" + j + "] must be bit-exact: " + a + " vs " + b);
                    double tol = ExactReference.bound(blocks, ref.absSum()[i], xs[r], b, bias == null ? 0f : bias[j], rounds);
                    if (!(Math.abs((double) a - b) <= tol))
                        fail(what + ": output [" + r + "][" + j + "] = " + a + ", reference " + b + ", |diff| " + Math.abs((double) a - b) + " > bound " + tol);
                }
            return differ;
        }
    }

    static float[] activations(int rows, int k, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[rows * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (rnd.nextDouble() < 0.01 ? 20 : 1));
        if (rows > 1) java.util.Arrays.fill(x, k, 2 * k, 0f); // an all-zero token: s = 0
        return x;
    }

    @Test
    void aNonFiniteActivationIsRefusedNamingItsRowAndColumnInEveryHostMode() {
        // rtn-w4g128 and microscopiq-w4 take the INT16 mode (quantized per panel inside the kernel), mxint8 the fp32 one
        for (String id : List.of("rtn-w4g128", "microscopiq-w4", "mxint8")) {
            int n = 160, k = 256, rows = 40;
            PackedTensor p = pack(QuantFormat.parse(id), TestWeights.gaussianWithOutliers(n, k, 5, 0.01), n, k);
            try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
                LayerHandle h = dev.load(p, null);
                float[] x = activations(rows, k, 6);
                x[37 * k + 201] = Float.NaN; // in the last panel, which another thread quantizes
                IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> dev.run(h, x, rows, new float[rows * n]));
                assertEquals("activation at row 37, column 201 is NaN: the INT8 datapath cannot take it", e.getMessage(), id + " (" + dev.datapath(h).mode() + ")");
            }
        }
    }

    static PackedTensor pack(QuantFormat f, float[] w, int n, int k) {
        return f.pack(Rtn.quantize(f, w, n, k).tensor());
    }

    @Test
    void everyFormatMatchesTheExactReferenceOnRandomShapes() {
        Random rnd = new Random(5);
        for (String id : FORMATS) {
            QuantFormat f = QuantFormat.parse(id);
            for (int trial = 0; trial < 3; trial++) {
                int n = 1 + rnd.nextInt(40) + (trial == 0 ? 32 : 0); // trial 0: at least one full vector tile of 32 outputs
                int k = f instanceof MicroScopiQFormat m ? m.blockSize() * (1 + rnd.nextInt(20)) : 1 + rnd.nextInt(300);
                if (trial == 2 && !(f instanceof MicroScopiQFormat)) k = 257; // odd, partial last block/group/cluster
                int rows = trial == 0 ? 4 + rnd.nextInt(6) : 1 + rnd.nextInt(9); // trial 0: at least one tile of 4 tokens
                float[] w = TestWeights.gaussianWithOutliers(n, k, rnd.nextLong(), 0.03);
                float[] bias = trial == 1 ? null : TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0);
                PackedTensor p = pack(f, w, n, k);
                int differ = check(p, activations(rows, k, rnd.nextLong()), rows, bias, id + " [" + n + "x" + k + "] x " + rows);
                if (!ExactReference.hardwareRounds(p)) assertEquals(0, differ, id + ": outputs not bit-exact");
            }
        }
    }

    @Test
    void oddGroupAndBlockSizesAndOtherWidths() {
        Random rnd = new Random(11);
        for (String id : List.of("rtn-w3g7", "rtn-w8g33", "rtn-w2g5", "int3-asym-g9", "int8-asym-g64", "fineq-g10-d3.0-s8")) {
            QuantFormat f = QuantFormat.parse(id);
            int n = 7 + rnd.nextInt(30), k = 31 + rnd.nextInt(90), rows = 5;
            PackedTensor p = pack(f, TestWeights.gaussianWithOutliers(n, k, rnd.nextLong(), 0.05), n, k);
            int differ = check(p, activations(rows, k, rnd.nextLong()), rows, null, id);
            if (!ExactReference.hardwareRounds(p)) assertEquals(0, differ, id);
        }
    }

    @Test
    void heavyOutliersUseWideAccumulatorsAndStayExact() {
        // E5M2 elements on their integer grid reach 2^32: the int64 path; MicroScopiQ-W4 with extreme
        // outliers exceeds 2^24: the int32 path. Both must still be exact.
        int n = 40, k = 64, rows = 6; // n = 40, rows = 6: vector tiles plus scalar tails in both dimensions
        float[] w = TestWeights.gaussianWithOutliers(n, k, 3, 0.1);
        for (int i = 0; i < w.length; i += 37) w[i] *= 1e4f;
        java.util.Set<Datapath.Mode> modes = java.util.EnumSet.noneOf(Datapath.Mode.class);
        for (String id : List.of("mxfp8-e5m2", "microscopiq-w4", "mxfp8-e4m3", "mxfp4")) {
            PackedTensor p = pack(QuantFormat.parse(id), w, n, k);
            try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.defaults())) {
                Datapath d = dev.datapath(dev.load(p, null));
                assertTrue(d.weights().accumulatorBits() <= 64, id);
                if (id.equals("mxfp8-e5m2")) assertEquals(Datapath.Mode.INT64, d.mode(), id + " needs " + d.weights().accumulatorBits() + " bits");
                modes.add(d.mode());
            }
            assertEquals(0, check(p, activations(rows, k, 9), rows, null, id), id);
        }
        // MX-INT8 (|w| up to 127: a 16-bit lane holds two products only) sums in fp32, exactly
        PackedTensor mxint8 = pack(QuantFormat.parse("mxint8"), TestWeights.gaussianWithOutliers(n, k, 5, 0.05), n, k);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.defaults())) {
            Datapath d = dev.datapath(dev.load(mxint8, null));
            assertEquals(Datapath.Mode.FP32_EXACT, d.mode());
            modes.add(d.mode());
        }
        assertEquals(0, check(mxint8, activations(rows, k, 12), rows, null, "mxint8"), "mxint8");
        assertEquals(java.util.EnumSet.allOf(Datapath.Mode.class), modes, "every host summation mode exercised");
        // asymmetric INT8 with groups of 1024 exceeds 2^24 too: the zero-point correction in the int32 kernel
        PackedTensor asym = pack(QuantFormat.parse("int8-asym-g1024"), TestWeights.gaussianWithOutliers(40, 1100, 4, 0.05), 40, 1100);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
            assertEquals(Datapath.Mode.INT32, dev.datapath(dev.load(asym, null)).mode());
        }
        check(asym, activations(rows, 1100, 10), rows, null, "int8-asym-g1024");
    }

    @Test
    void int16KernelTilesChunksGroupsAndSideListStayExact() {
        // n = 128 + 32 + 7: one 6 x 128 tile, one 6 x 32 tile and 7 scalar columns; 13 rows: two 6-row panels
        // and a partial one. K = 384 (three 128-groups, 24 MicroScopiQ blocks).
        int n = 167, k = 384, rows = 13;
        Random rnd = new Random(21);
        for (String id : List.of("microscopiq-w4", "microscopiq-w4-c4", "microscopiq-w2", "mxfp4", "fineq", "rtn-w4g128", "int4-asym-g128")) {
            QuantFormat f = QuantFormat.parse(id);
            float[] w = TestWeights.gaussianWithOutliers(n, k, rnd.nextLong(), 0.03);
            if (id.startsWith("microscopiq-w4")) for (int i = 0; i < w.length; i += 997) w[i] *= 40; // outliers that need the side list
            PackedTensor p = pack(f, w, n, k);
            try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
                Datapath d = dev.datapath(dev.load(p, null));
                assertEquals(Datapath.Mode.INT16, d.mode(), id);
                Int16Plan plan = d.plan();
                if (f instanceof MicroScopiQFormat || id.equals("mxfp4")) assertTrue(plan.group() > 1, id + ": power-of-two blocks merged, group " + plan.group());
                else assertEquals(1, plan.group(), id + ": fp16 scales are folded block by block");
                if (id.equals("fineq") || id.equals("rtn-w4g128")) assertTrue(plan.chunk() < 128, id + ": a 128-group needs several 16-bit chunks");
                // with these weights the first layout's merged outliers exceed the 16-bit kernel's range, so it is the
                // case that must exercise the side list; the compact layout is checked for exactness only
                if (id.equals("microscopiq-w4-c4")) assertTrue(plan.sparse() != null, id + ": large merged outliers go to the side list");
            }
            float[] bias = TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0);
            int differ = check(p, activations(rows, k, rnd.nextLong()), rows, bias, id + " int16");
            if (!ExactReference.hardwareRounds(p)) assertEquals(0, differ, id + ": outputs not bit-exact");
        }
    }

    @Test
    void sideListIsIndexedByGroupAndSlab() {
        // hand-made per-column lists: K = 6 in groups of 4 columns (the last group partial), two slabs of outputs plus a
        // partial third (the scalar tail, stored but never read by a tile)
        int slab = Int16Plan.Sparse.SLAB, nOut = 2 * slab + 3;
        int[] byCol = {0, 1, 3, 3, 4, 5, 7};                      // columns 0..5 hold 1, 2, 0, 1, 1, 2 entries
        int[] on = {1, slab + 3, 0, 2, 2 * slab + 1, slab, 5};
        int[] val = {10, 11, 12, 13, 14, 15, 16};
        Int16Plan.Sparse sp = Int16Plan.Sparse.indexed(byCol, on, val, nOut, 4);
        assertEquals(3, sp.slabs());
        assertEquals(2 * 3 + 1, sp.start().length, "2 groups x 3 slabs");
        for (int c = 0; c < 6; c++)
            for (int i = byCol[c]; i < byCol[c + 1]; i++) {
                int cell = sp.cell(c / 4, on[i] / slab);
                int found = -1;
                for (int f = sp.start()[cell]; f < sp.start()[cell + 1]; f++) if (sp.n()[f] == on[i] && sp.col()[f] == c) found = f;
                assertTrue(found >= 0, "entry (" + c + ", " + on[i] + ") is in its cell");
                assertEquals(val[i], sp.value()[found]);
            }
        // entries per (group, slab): group 0 = columns 0-3, group 1 = columns 4-5 (the partial group)
        int[][] count = {{3, 1, 0}, {1, 1, 1}};
        for (int g = 0; g < 2; g++)
            for (int sl = 0; sl < 3; sl++)
                assertEquals(count[g][sl], sp.start()[sp.cell(g, sl) + 1] - sp.start()[sp.cell(g, sl)], "group " + g + ", slab " + sl);
        // column order is kept inside a cell: group 0, slab 0 holds column 0's output 1, column 1's output 0, column 3's output 2
        int first = sp.start()[sp.cell(0, 0)];
        assertEquals(List.of(0, 1, 3), List.of(sp.col()[first], sp.col()[first + 1], sp.col()[first + 2]));
        assertEquals(List.of(1, 0, 2), List.of(sp.n()[first], sp.n()[first + 1], sp.n()[first + 2]));
        assertEquals(7, sp.start()[sp.start().length - 1]);
    }

    @Test
    void tilesReadOnlyTheirOwnSideListEntries() {
        // side-list entries in every chunk and in the wide, narrow and scalar-tail columns of a 167-output layer: a tile
        // that read a neighbour's entries (or missed its own) would change its outputs; a layer without large weights
        // must have no side list at all
        int n = 167, k = 384, rows = 13;
        QuantFormat f = QuantFormat.parse("microscopiq-w4-c4");
        float[] w = TestWeights.gaussianWithOutliers(n, k, 51, 0.03);
        for (int r = 0; r < n; r += 3) for (int c = r % 16; c < k; c += 37) w[r * k + c] *= 40;
        PackedTensor big = pack(f, w, n, k), plain = pack(QuantFormat.parse("fineq"), TestWeights.gaussianWithOutliers(n, k, 52, 0.03), n, k);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
            Int16Plan.Sparse sp = dev.datapath(dev.load(big, null)).plan().sparse();
            assertTrue(sp != null, "large merged outliers go to the side list");
            java.util.Set<Integer> slabs = new java.util.HashSet<>();
            for (int e : sp.n()) slabs.add(e / Int16Plan.Sparse.SLAB);
            assertTrue(slabs.size() == sp.slabs(), "entries in every slab, the scalar tail included: " + slabs);
            assertEquals(null, dev.datapath(dev.load(plain, null)).plan().sparse(), "fineq's 3-bit weights need no side list");
        }
        Random rnd = new Random(53);
        for (PackedTensor p : List.of(big, plain)) {
            float[] bias = TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0);
            assertEquals(0, check(p, activations(rows, k, rnd.nextLong()), rows, bias, "side list"), "outputs not bit-exact");
        }
    }

    @Test
    void sideListEntriesTakeTheShiftOfTheirOwnUnit() {
        // MicroScopiQ weights with Gaussian inliers and 3 % outliers, as a real layer's: merged groups, chunks spanning
        // blocks, and pre-shifted outliers in the side list, some in units whose shift onto the group's grid differs
        // from the group's first unit's (an entry added with another unit's shift would change its output)
        int n = 256, k = 384, rows = 13;
        PackedTensor p = pack(QuantFormat.parse("microscopiq-w4"), TestWeights.gaussianWithOutliers(n, k, 61, 0.03), n, k);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
            Datapath dp = dev.datapath(dev.load(p, null));
            Int16Plan plan = dp.plan();
            Int16Plan.Sparse sp = plan.sparse();
            int span = plan.group() * dp.weights().blockSize(); // a group's columns
            assertTrue(sp != null && plan.shifts() != null && plan.group() > 1, "a merged plan with a side list");
            int differ = 0;
            for (int e = 0; e < sp.col().length; e++) {
                int c = sp.col()[e], j = sp.n()[e], first = c / span * span / plan.unit();
                if (plan.shifts()[c / plan.unit() * n + j] != plan.shifts()[first * n + j]) differ++;
            }
            assertTrue(differ > 0, "side-list entries in units shifted unlike their group's first (" + sp.col().length + " entries)");
        }
        float[] bias = TestWeights.gaussianWithOutliers(1, n, 62, 0);
        assertEquals(0, check(p, activations(rows, k, 63), rows, bias, "side list, shifted units"), "outputs not bit-exact");
    }

    /**
     * MicroScopiQ-W4 weights of one magnitude per 16-block, alternating between {@code hi} (even blocks) and
     * {@code hi / 2} (odd blocks, one inlier offset finer), random signs: no outliers, every block's integers equal.
     */
    static float[] alternatingBlocks(int n, int k, float hi, long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) w[r * k + c] = (rnd.nextBoolean() ? 1 : -1) * ((c / 16) % 2 == 0 ? hi : hi / 2);
        return w;
    }

    @Test
    void chunksSpanBlocksOnlyWhereThePreShiftedSumFits16Bits() {
        int n = 167, k = 384, rows = 13;
        QuantFormat f = QuantFormat.parse("microscopiq-w4");
        // 0.75 and 0.375 are both 3 on their block's grid; pre-shifted to the finer grid 6 and 3: 16 * 6 + 16 * 3 = 144
        // per pair of blocks, 127 * 144 <= 32767, so one 16-bit chunk must span several blocks (one shift per chunk)
        PackedTensor fits = pack(f, alternatingBlocks(n, k, 0.75f, 41), n, k);
        // 1.75 and 0.875 are both 7: pre-shifted 14 and 7, 16 * 14 + 16 * 7 = 336 per pair, 127 * 336 > 32767 in every
        // chunk and output: spanning would need far too large a side list, so chunks must stay inside the 16-blocks
        PackedTensor tooLarge = pack(f, alternatingBlocks(n, k, 1.75f, 42), n, k);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
            Int16Plan a = dev.datapath(dev.load(fits, null)).plan(), b = dev.datapath(dev.load(tooLarge, null)).plan();
            assertTrue(a.group() > 1 && b.group() > 1, "power-of-two blocks merged into groups");
            assertTrue(a.chunk() > 16 && a.unit() == a.chunk(), "chunk " + a.chunk() + " must span blocks");
            assertEquals(16, b.chunk(), "chunk must stay inside a block");
            assertEquals(16, b.unit());
        }
        Random rnd = new Random(43);
        for (PackedTensor p : List.of(fits, tooLarge)) {
            float[] bias = TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0);
            assertEquals(0, check(p, activations(rows, k, rnd.nextLong()), rows, bias, "spanning chunks"), "outputs not bit-exact");
        }
    }

    @Test
    void wholeBlocksWithASideListOnlyWhereFewOutputsOverflow16Bits() {
        // MX-FP4: a 32-block of codes at full magnitude (6.0 on the block's grid: integer 12) sums to about 31 x 12 > 258,
        // so a 16-bit chunk of the whole block can overflow for that output. One such output row: the plan must keep
        // whole 32-column chunks and put that row's largest weights in the side list; every row like it: the side list
        // would be far over budget, so the blocks must be cut into 16-column chunks instead. Both bit-exact.
        int n = 167, k = 384, rows = 13;
        QuantFormat f = QuantFormat.parse("mxfp4");
        float[] few = TestWeights.gaussianWithOutliers(n, k, 61, 0.0), all = new float[n * k];
        Random rnd = new Random(62);
        // one 1.5 (integer 3, odd) per block keeps the decoder from moving common trailing zeros into the scale
        for (int c = 0; c < k; c++) few[40 * k + c] = (rnd.nextBoolean() ? 1 : -1) * (c % 32 == 0 ? 1.5f : 6f);
        for (int i = 0; i < all.length; i++) all[i] = (rnd.nextBoolean() ? 1 : -1) * (i % 32 == 0 ? 1.5f : 6f);
        PackedTensor a = pack(f, few, n, k), b = pack(f, all, n, k);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
            Int16Plan pa = dev.datapath(dev.load(a, null)).plan(), pb = dev.datapath(dev.load(b, null)).plan();
            assertTrue(pa.group() > 1 && pb.group() > 1, "power-of-two blocks merged");
            assertEquals(32, pa.chunk(), "whole blocks, the one over-range output in the side list");
            assertTrue(pa.sparse() != null, "the over-range output's largest weights go to the side list");
            for (int e : pa.sparse().n()) assertEquals(40, e, "only the over-range output has side-list entries");
            assertEquals(16, pb.chunk(), "every output over range: blocks are cut in halves, no side list");
            assertEquals(null, pb.sparse());
        }
        for (PackedTensor p : List.of(a, b)) {
            float[] bias = TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0);
            assertEquals(0, check(p, activations(rows, k, rnd.nextLong()), rows, bias, "mxfp4 whole-block chunks"), "outputs not bit-exact");
        }
    }

    @Test
    void blocksAreNotMergedWhenTheRowSumCouldRound() {
        // two MX blocks per row whose scales differ by 2^70: the fp64 block sum can round, so the kernel must
        // keep the block-order fp64 fold of docs/emulator.md section 3 (group 1) rather than an exact merge
        int n = 40, k = 64, rows = 6;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 31, 0.0);
        for (int r = 0; r < n; r++) for (int c = 32; c < 64; c++) w[r * k + c] *= 0x1p-70f;
        PackedTensor p = pack(QuantFormat.parse("mxfp4"), w, n, k);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.defaults())) {
            Datapath d = dev.datapath(dev.load(p, null));
            assertEquals(Datapath.Mode.INT16, d.mode());
            assertEquals(1, d.plan().group());
        }
        check(p, activations(rows, k, 32), rows, null, "mxfp4 with a 2^70 scale spread");
    }

    @Test
    void reconMergeInHardwareOrderEqualsTheMergedWeight() {
        // every significand the two outlier elements can produce, every activation, every shift used
        for (int b : new int[] {2, 4})
            for (long sig = -15; sig <= 15; sig++)
                for (int shift = 0; shift <= 17; shift++)
                    for (int x = -127; x <= 127; x++)
                        assertEquals(ReconMerge.merge(sig, b, shift) * x, ReconMerge.contribution(sig, b, shift, x));
        // and the split is the two b-bit PE operands: lower unsigned b bits, upper signed
        assertEquals(-1, ReconMerge.upper(-15, 4));
        assertEquals(1, ReconMerge.lower(-15, 4));
    }

    @Test
    void vectorActivationQuantizerFollowsTheScalarRuleIncludingTies() {
        Random rnd = new Random(8);
        int k = 77, rows = 5; // 77: vector loop plus scalar tail
        float[] x = new float[rows * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        // exact ties: row 3 has max 127, so s = 1 and x = m + 0.5 must round to even
        for (int i = 0; i < k; i++) x[3 * k + i] = (i % 2 == 0 ? 1 : -1) * (i + 0.5f);
        x[3 * k + 76] = 127f;
        x[4 * k] = Float.MIN_VALUE; // a row of denormals and zeros
        java.util.Arrays.fill(x, 4 * k + 1, 5 * k, 0f);
        int[] q = new int[8 * k];
        float[] qf = new float[8 * k], xs = new float[rows];
        java.util.Arrays.fill(q, 99);
        java.util.Arrays.fill(qf, 99f);
        ActivationQuantizer.quantize(x, k, rows, 8, q, qf, xs);
        for (int r = 0; r < rows; r++) {
            float a = 0;
            for (int i = 0; i < k; i++) a = Math.max(a, Math.abs(x[r * k + i]));
            assertEquals(a / 127f, xs[r], "scale of row " + r);
            for (int i = 0; i < k; i++) {
                int want = xs[r] == 0 ? 0 : (int) Math.max(-127, Math.min(127, Math.rint(x[r * k + i] / xs[r])));
                assertEquals(want, q[r * k + i], "row " + r + " col " + i);
                assertEquals(want, qf[r * k + i], 0f);
            }
        }
        assertEquals(2, q[3 * k + 2]); // 2.5 -> 2
        assertEquals(-4, q[3 * k + 3]); // -3.5 -> -4
        for (int i = rows * k; i < 8 * k; i++) assertEquals(0, q[i], "padding rows are zero");
    }
}
