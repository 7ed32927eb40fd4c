package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.quant.Quantized;
import io.qbridge.quant.Rtn;
import org.junit.jupiter.api.Test;

class MicroScopiQTest {
    private static final float[] BLOCK_WITH_OUTLIER = {0.1f, -0.2f, 0.3f, 0.05f, 0.15f, -0.25f, 0.12f, 0.0f, 0.08f, -0.1f, 0.2f, 0.22f, -0.18f, 0.07f, 0.11f, 5.0f};

    @Test
    void handComputedBlockInTheFirstLayout() {
        MicroScopiQTensor t = (MicroScopiQTensor) Rtn.quantizeRtn(MicroScopiQFormat.W4_C4, BLOCK_WITH_OUTLIER, 1, 16);
        assertEquals(15, t.outlierPos()[0]);               // 5.0 > mean + 2 std of |w|
        assertEquals(7, t.prunedPos()[0]);                 // w = 0 has the lowest importance w^2
        assertEquals(t.outlierPos()[1], t.prunedPos()[1]); // other pairs unused
        assertEquals(127 - 2, t.inlierScale()[0] & 0xFF);  // e1 = floor(log2 0.3) = -2
        assertEquals(-4, t.level2()[0]);                   // floor(log2 5) - 8 - e1
        // 5 / 2^-6 = 320 = E4M3 0x7A: upper half 0x7 in slot 15, lower half 0xA in pruned slot 7
        assertEquals(0x7, t.slots()[15]);
        assertEquals(0xA, t.slots()[7]);
        assertEquals(5, t.slots()[2]); // 0.3 * 16 = 4.8 -> 5
        float[] d = MicroScopiQFormat.W4_C4.dequantize(t);
        assertEquals(5.0f, d[15]);
        assertEquals(0f, d[7]);
        assertEquals(0.3125f, d[2]);
    }

    @Test
    void handComputedMacroBlockInTheDefaultLayout() {
        // Two blocks of one (partial) macro-block: block 0 has an outlier 1.5, block 1 only small weights.
        float[] w = new float[32];
        System.arraycopy(BLOCK_WITH_OUTLIER, 0, w, 0, 16);
        w[15] = 1.5f;
        float[] small = {0.02f, -0.03f, 0.05f, 0.01f, 0.04f, -0.06f, 0.03f, 0.02f, -0.01f, 0.05f, 0.03f, -0.04f, 0.02f, 0.01f, 0.03f, 0.06f};
        System.arraycopy(small, 0, w, 16, 16);
        MicroScopiQFormat f = MicroScopiQFormat.W4;
        MicroScopiQTensor t = (MicroScopiQTensor) Rtn.quantizeRtn(f, w, 1, 32);
        assertEquals(1, t.inlierScale().length);          // one e1 for both blocks
        assertEquals(127 - 2, t.inlierScale()[0] & 0xFF); // e1 = floor(log2 0.3) = -2 over the macro-block's inliers
        assertEquals(0, t.inlierOffset()[0]);
        assertEquals(-6, t.level2()[0]);                  // outlier exponent floor(log2 1.5) - 8 = -8 = e1 + d
        assertEquals(15, t.outlierPos()[0]);
        assertEquals(7, t.prunedPos()[0]);
        assertEquals(1, t.inlierOffset()[1]);             // block 1's inliers (max 0.06, exponent -5) use e1 - 1
        assertEquals(f.level2Bias(), t.level2()[1]);      // no outlier: field 0
        assertEquals(t.outlierPos()[1], t.prunedPos()[1]);
        // 1.5 / 2^-8 = 384 = E4M3 0x7C, split over slots 15 (upper) and 7 (lower)
        assertEquals(0x7, t.slots()[15]);
        assertEquals(0xC, t.slots()[7]);
        float[] d = f.dequantize(t);
        assertEquals(1.5f, d[15]);
        assertEquals(0f, d[7]);
        assertEquals(0.0625f, d[31]); // 0.06 on 2^(e1 - 1 - 2) = 1/32: 1.92 -> 2
        // The metadata bits, LSB-first (docs/formats.md §4): e1 = 125 | block 0: o=0, s=d-bias=1, pair (15,7) | block 1: o=1, s=0, pair (0,0)
        byte[] bytes = f.pack(t).bytes();
        assertEquals(16 + 4, bytes.length); // 32 slots of 4 bits + ceil((8 + 2*11) / 8)
        assertArrayEquals(new byte[] {0x7D, (byte) 0xFA, 0x0B, 0x00}, java.util.Arrays.copyOfRange(bytes, 16, 20));
    }

    @Test
    void invariantsOnRandomWeights() {
        for (MicroScopiQFormat f : new MicroScopiQFormat[] {MicroScopiQFormat.W4, MicroScopiQFormat.W2, MicroScopiQFormat.W4_C4, MicroScopiQFormat.W2_C4,
                MicroScopiQFormat.perBlock(4, 16, 1, 2.0, FpElement.E4M3, 4), MicroScopiQFormat.perBlock(2, 32, 8, 1.0, FpElement.E2M1, 3),
                new MicroScopiQFormat(4, 16, 8, 1, 3.0, FpElement.E4M3, 0, 3, -7), new MicroScopiQFormat(2, 16, 3, 2, 2.0, FpElement.E2M1, 2, 2, 0)}) {
            int n = 16, k = 256 + 64, bb = f.blockSize(), nb = k / bb, nm = f.macroBlocksPerRow(k), cap = f.maxOutliers();
            float[] w = TestWeights.gaussianWithOutliers(n, k, 7, 0.01);
            Quantized q = Rtn.quantize(f, w, n, k);
            MicroScopiQTensor t = (MicroScopiQTensor) q.tensor();
            PackedTensor p = f.pack(t);
            assertEquals(t, f.unpackCodes(p), f.id());
            // Every block occupies exactly B slots of b bits in the slot section; then the metadata rows.
            assertEquals((long) n * k * f.bits() / 8 + (long) n * f.rowMetaBytes(k), p.bytes().length);
            float[] d = q.dequantized();
            MxInt inl = new MxInt(f.bits());
            int outliers = 0;
            for (int r = 0; r < n; r++)
                for (int b = 0; b < nb; b++) {
                    int bi = r * nb + b, c0 = r * k + b * bb;
                    int eb = (t.inlierScale()[r * nm + b / f.macroBlocks()] & 0xFF) - 127 - t.inlierOffset()[bi];
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
                        double v = Math.scalb(f.outlierElement().decode(code), eb + t.level2()[bi]);
                        assertEquals((float) v, d[c0 + o]);
                        // ... and is close to the original (the outlier format does not saturate it).
                        assertEquals(w[c0 + o], d[c0 + o], Math.abs(w[c0 + o]) * (f.bits() == 4 ? 1.0 / 16 : 0.25) + 1e-6,
                                f.id() + " row " + r + " block " + b + " eb=" + eb + " d=" + t.level2()[bi] + " code=" + code);
                    }
                    for (int s = 0; s < bb; s++)
                        if (!used[s]) assertEquals((float) Math.scalb(inl.decode(t.slots()[c0 + s]), eb), d[c0 + s]);
                }
            assertEquals(outliers, t.outlierCount());
            assertTrue(outliers > 0, "the injected outliers are detected");
        }
    }

    @Test
    void oldNamesStillParseToThePerBlockLayout() {
        MicroScopiQFormat f = (MicroScopiQFormat) QuantFormat.parse("microscopiq-w4-b16-o1-s2.0-e4m3-l4");
        assertEquals(MicroScopiQFormat.perBlock(4, 16, 1, 2.0, FpElement.E4M3, 4), f);
        assertEquals(1, f.macroBlocks());
        assertEquals("microscopiq-w4-c4", MicroScopiQFormat.W4_C4.id());
        assertEquals(MicroScopiQFormat.W2_C4, QuantFormat.parse("microscopiq-w2-c4"));
        MicroScopiQFormat v = new MicroScopiQFormat(2, 16, 4, 1, 2.5, FpElement.E2M1, 1, 2, -1);
        assertEquals(v, QuantFormat.parse(v.id()));
    }

    /** Drives the column quantizer as GPTQ does, with weights that change between decision points. */
    private static float[] run(ColumnQuantizer q, int row, double[][] weightsAtEachBlockStart, int k) {
        float[] out = new float[k];
        for (int c = 0; c < k; c++) {
            double[] w = weightsAtEachBlockStart[c / 16];
            if (q.isDecisionPoint(c)) q.prepare(row, c, w, null);
            out[c] = q.quantize(row, c, w[c]);
        }
        return out;
    }

    @Test
    void macroScaleIsDecidedAtTheMacroBlocksFirstColumnFromAllItsColumns() {
        MicroScopiQFormat f = MicroScopiQFormat.W4;
        int k = 256;
        ColumnQuantizer q = f.columnQuantizer(1, k);
        assertEquals(128, q.span(), "GPTQ must update the whole macro-block before its first column");
        double[] w0 = new double[k];
        for (int c = 0; c < k; c++) w0[c] = 0.01 * ((c % 7) - 3);
        // Block 6 (columns 96..111) holds the macro-block's largest inliers, a spread without outliers: 0.1, 0.2, 0.3, 0.4, ...
        for (int c = 96; c < 112; c++) w0[c] = 0.1 * ((c % 4) + 1);
        for (int c = 192; c < 208; c++) w0[c] = 0.025 * ((c % 4) + 1); // macro-block 1: largest inlier 0.1
        double[][] seen = new double[k / 16][];
        for (int b = 0; b < seen.length; b++) seen[b] = w0.clone();
        // After column 0, error feedback grows block 6 by half: e1 was decided at column 0, so its 0.6 saturates.
        for (int b = 1; b < seen.length; b++) for (int c = 96; c < 112; c++) seen[b][c] *= 1.5;
        float[] out = run(q, 0, seen, k);
        MicroScopiQTensor t = (MicroScopiQTensor) q.finish();
        assertEquals(127 - 2, t.inlierScale()[0] & 0xFF); // floor(log2 0.4): from block 6, not from block 0 (which alone gives -6)
        assertEquals(127 - 4, t.inlierScale()[1] & 0xFF); // floor(log2 0.1)
        assertEquals(t.outlierPos()[6], t.prunedPos()[6]); // block 6 has no outlier
        assertEquals(0.4375f, out[99]);                     // 0.6 saturates at INT4's 7/4 * 2^-2
        assertEquals(0.3125f, out[97]);                     // 0.2 * 1.5 = 0.3: 0.3 * 16 = 4.8 -> 5
        assertArrayEquals(out, f.dequantize(t));
    }

    @Test
    void level2SaturatesAtBothEnds() {
        MicroScopiQFormat f = MicroScopiQFormat.W4; // d in [-9, -6]
        int k = 128;
        double[] base = new double[k];
        for (int c = 0; c < k; c++) base[c] = 0.05 * ((c % 5) - 2) + 0.01; // inliers up to 0.11: e1 = -4
        // (1) an outlier too large for e1 + max d at the macro decision: e1 is raised so it is not clipped
        double[] big = base.clone();
        big[3] = 20.0; // exponent floor(log2 20) - 8 = -4 = e1 + 0 > e1 - 6
        ColumnQuantizer q = f.columnQuantizer(1, k);
        float[] out = run(q, 0, new double[][] {big, big, big, big, big, big, big, big}, k);
        MicroScopiQTensor t = (MicroScopiQTensor) q.finish();
        assertEquals(f.level2Max(), t.level2()[0]);
        assertEquals(127 + 2, t.inlierScale()[0] & 0xFF); // raised to -4 + 6 = 2
        assertEquals(20.0f, out[3]);
        // (2) the same outlier appearing only after the macro decision (GPTQ feedback): d clamps, the outlier saturates at 448 * 2^(e1 + max d)
        q = f.columnQuantizer(1, k);
        double[][] seen = new double[8][];
        for (int b = 0; b < 8; b++) seen[b] = base.clone();
        seen[1][19] = 20.0;
        for (int b = 2; b < 8; b++) seen[b][19] = 20.0;
        out = run(q, 0, seen, k);
        t = (MicroScopiQTensor) q.finish();
        assertEquals(127 - 4, t.inlierScale()[0] & 0xFF);
        assertEquals(3, t.outlierPos()[1]);
        assertEquals(0, t.inlierOffset()[1]);
        assertEquals(f.level2Max(), t.level2()[1]);
        assertEquals((float) Math.scalb(448.0, -4 - 6), out[19]);
        // (3) an outlier small for the lowest d: d clamps at the bottom, the outlier is still exact enough (E4M3 has range to spare)
        double[] tiny = new double[k];
        for (int c = 0; c < k; c++) tiny[c] = 1e-4 * ((c % 3) - 1);
        for (int c = 48; c < 64; c++) tiny[c] = 0.0275 * ((c % 4) + 1); // macro e1 = floor(log2 0.11) = -4 from block 3's inliers ...
        tiny[5] = 2e-3;  // ... this block's outlier: exponent floor(log2 2e-3) - 8 = -17 < e1 - 9
        q = f.columnQuantizer(1, k);
        out = run(q, 0, new double[][] {tiny, tiny, tiny, tiny, tiny, tiny, tiny, tiny}, k);
        t = (MicroScopiQTensor) q.finish();
        assertEquals(5, t.outlierPos()[0]);
        assertEquals(f.level2Min(), t.level2()[0]);
        assertEquals(2e-3, out[5], 2e-3 / 16);
        assertArrayEquals(out, f.dequantize(t));
    }

    @Test
    void shapeMustBeAMultipleOfTheBlock() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MicroScopiQFormat.W4.packedBytes(2, 20));
        assertTrue(e.getMessage().contains("multiple of the block size 16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MicroScopiQFormat.perBlock(4, 16, 9, 2.0, FpElement.E4M3, 4));
        assertThrows(IllegalArgumentException.class, () -> MicroScopiQFormat.perBlock(4, 16, 4, 2.0, FpElement.E2M1, 4));
        assertThrows(IllegalArgumentException.class, () -> new MicroScopiQFormat(4, 16, 0, 1, 2.0, FpElement.E4M3, 0, 3, -7));
    }

    @Test
    void outOfRangeFieldsAreRejected() {
        MicroScopiQTensor t = (MicroScopiQTensor) Rtn.quantizeRtn(MicroScopiQFormat.W4, new float[16], 1, 16);
        byte[] l2 = {(byte) (MicroScopiQFormat.W4.level2Max() + 1)};
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new MicroScopiQTensor(t.format(), 1, 16, t.slots(), t.inlierScale(), t.inlierOffset(),
                l2, t.outlierPos(), t.prunedPos())).getMessage().contains("level2[0]"));
        byte[] off = {2}; // 1-bit field
        assertThrows(IllegalArgumentException.class, () -> new MicroScopiQTensor(t.format(), 1, 16, t.slots(), t.inlierScale(), off, t.level2(),
                t.outlierPos(), t.prunedPos()));
    }

    @Test
    void repeatedPairPositionsAreRejected() {
        MicroScopiQTensor t = (MicroScopiQTensor) Rtn.quantizeRtn(MicroScopiQFormat.W4_C4, new float[16], 1, 16);
        byte[] op = t.outlierPos().clone(), pp = t.prunedPos().clone();
        op[0] = 1; pp[0] = 2; op[1] = 2; pp[1] = 3;
        MicroScopiQTensor bad = new MicroScopiQTensor(t.format(), 1, 16, t.slots(), t.inlierScale(), t.inlierOffset(), t.level2(), op, pp);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MicroScopiQFormat.W4_C4.dequantize(bad));
        assertTrue(e.getMessage().contains("repeated"), e.getMessage());
    }
}
