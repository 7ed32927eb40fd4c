package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.container.QbzEntry;
import io.qbridge.container.QbzFile;
import io.qbridge.quant.LoBcqDesign;
import io.qbridge.quant.LoBcqDesignConfig;
import io.qbridge.quant.Quantized;
import io.qbridge.quant.Rtn;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** LO-BCQ (docs/formats.md §8): names, byte counts, pack/unpack/dequantize, the encoding rules, NVFP4 equivalence, container. */
class LoBcqFormatTest {
    @TempDir Path dir;

    @ParameterizedTest
    @CsvSource({"lobcq-c8-a64, 36, 64, 4.5", "lobcq-c16-a128, 73, 128, 4.5625", "lobcq-c16-a64, 37, 64, 4.625"})
    void presetsHaveTheDocumentedRecordAndBitCount(String name, int recordBytes, int array, double bits) {
        LoBcqFormat f = (LoBcqFormat) QuantFormat.parse(name);
        assertEquals(name, f.id());
        assertEquals(recordBytes, f.recordBytes());
        assertEquals(bits, f.recordBitsPerScalar());
        // every stored bit: records plus one FP32 row scale per row
        for (int k : new int[] {384, 1536, 4096}) {
            assertEquals(4L * 3 + 3L * (k / array) * recordBytes, f.packedBytes(3, k));
            assertEquals(bits + 32.0 / k, f.bitsPerWeight(3, k), 1e-12);
        }
        assertEquals(LoBcqFormat.C8_A64, QuantFormat.parse("lobcq"));
        assertEquals(f, QuantFormat.parse(f.withLocal(false).id()));
        assertEquals(f.withLocal(true), QuantFormat.parse(name + "-local"));
        assertEquals(f.packedBytes(3, 384) + 16L * f.codebooks(), f.withLocal(true).packedBytes(3, 384));
    }

    @Test
    void otherConfigurationsRoundTripTheirNames() {
        LoBcqFormat f = new LoBcqFormat(4, 4, 32, 8, 100, true);
        assertEquals("lobcq-c4-b4-a32-e8-t100-local", f.id());
        assertEquals(f, QuantFormat.parse(f.id()));
        // 8 blocks x 2 selector bits = 2 bytes; 1 + 2 + 16 = 19 bytes per 32 scalars
        assertEquals(19, f.recordBytes());
        // K = 100 is not a multiple of 64: two records per row, the second one partial (36 real scalars, 28 padding)
        assertEquals(2 * 4 + 2 * 2 * 36, LoBcqFormat.C8_A64.packedBytes(2, 100));
    }

    static float[] weights(int n, int k, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.02 * (r.nextInt(50) == 0 ? 10 : 1));
        for (int c = 0; c < Math.min(64, k); c++) w[c] = 0; // an all-zero array in row 0
        if (n > 1) for (int c = 0; c < k; c++) w[k + c] = 0; // an all-zero row
        return w;
    }

    @ParameterizedTest
    @CsvSource({"lobcq-c8-a64, 1, 64", "lobcq-c8-a64, 5, 384", "lobcq-c16-a128, 3, 384", "lobcq-c16-a64, 4, 1536", "lobcq-c8-a64-local, 6, 384",
            "lobcq-c16-a128-local, 3, 256", "lobcq-c8-a64, 3, 172", "lobcq-c16-a128, 4, 96", "lobcq-c8-a64-local, 4, 172", "lobcq-c16-a64, 2, 100",
            "lobcq-c8-a64, 2, 20"})
    void packUnpackDequantizeAreExact(String name, int n, int k) {
        LoBcqFormat f = (LoBcqFormat) QuantFormat.parse(name);
        float[] w = weights(n, k, 17L * n + k);
        Quantized q = f.local() ? LoBcqDesign.quantizeLocal(f, w, n, k, LoBcqDesignConfig.SPEC) : Rtn.quantize(f, w, n, k);
        PackedTensor p = f.pack(q.tensor());
        assertEquals(f.packedBytes(n, k), p.bytes().length);
        assertEquals(q.tensor(), f.unpackCodes(p));
        assertArrayEquals(p.bytes(), f.pack(f.unpackCodes(p)).bytes());
        float[] d = f.dequantize(p);
        for (int i = 0; i < d.length; i++) assertEquals(Float.floatToRawIntBits(q.dequantized()[i]), Float.floatToRawIntBits(d[i]), "element " + i);
        checkEncodingRules(f, (LoBcqTensor) q.tensor(), f.codebooksOf((LoBcqTensor) q.tensor()), w);
        double err = 0, ref = 0;
        for (int i = 0; i < w.length; i++) { err += (w[i] - d[i]) * (w[i] - d[i]); ref += w[i] * w[i]; }
        assertTrue(err <= 0.05 * ref, name + " relative error " + err / ref);
    }

    /**
     * The encoder's choices, checked by brute force written independently here: the row and array scales by their
     * formulas, each scalar's index the nearest entry of its block's codebook (ties lower), each block's codebook the
     * one of least float error (ties lower), zero arrays all-zero.
     */
    static void checkEncodingRules(LoBcqFormat f, LoBcqTensor t, LoBcqCodebooks cb, float[] x) {
        int n = t.n(), k = t.k(), la = f.arrayScalars(), lb = f.blockScalars(), na = (k + la - 1) / la, nbA = la / lb;
        for (int r = 0; r < n; r++) {
            float amax = 0;
            for (int c = 0; c < k; c++) amax = Math.max(amax, Math.abs(x[r * k + c]));
            float g = amax == 0 ? 1f : amax / (f.amaxTarget() * 448f);
            assertEquals(g, t.rowScales()[r], "row scale " + r);
            for (int a = 0; a < na; a++) {
                float am = 0;
                for (int c = a * la; c < Math.min(k, (a + 1) * la); c++) am = Math.max(am, Math.abs(x[r * k + c]));
                int code = t.scales()[r * na + a] & 0xFF;
                if (am == 0) { assertEquals(0, code); continue; }
                double target = am / (f.amaxTarget() * g);
                double s = LoBcqFormat.e4m3(code);
                // the nearest E4M3 value (a neighbour code is never strictly closer), or the saturated 448
                if (code < 0x7E && code > 1) {
                    assertTrue(Math.abs(target - s) <= Math.abs(target - LoBcqFormat.e4m3(code - 1)), "scale below");
                    assertTrue(Math.abs(target - s) <= Math.abs(target - LoBcqFormat.e4m3(code + 1)), "scale above");
                }
                float gs = g * (float) s;
                for (int j = 0; j < nbA; j++) {
                    int b0 = a * la + j * lb, b1 = Math.min(k, b0 + lb); // a partial last array: real scalars only
                    if (b0 >= k) { assertEquals(0, t.selectors()[(r * na + a) * nbA + j], "padding block selector"); continue; }
                    float[] errs = new float[cb.count()];
                    for (int i = 0; i < cb.count(); i++)
                        for (int c = b0; c < b1; c++) {
                            float v = x[r * k + c] / gs, best = Float.POSITIVE_INFINITY;
                            for (int e = 0; e < 16; e++) { float dd = Math.abs(v - cb.entry(i, e)); if (dd < best) best = dd; }
                            errs[i] += best * best;
                        }
                    int sel = t.selectors()[(r * na + a) * nbA + j];
                    for (int i = 0; i < cb.count(); i++) assertTrue(errs[sel] < errs[i] || (errs[sel] == errs[i] && sel <= i) || i == sel,
                            "row " + r + " array " + a + " block " + j + ": codebook " + i + " error " + errs[i] + " beats the chosen " + sel + " " + errs[sel]);
                    for (int c = b0; c < b1; c++) {
                        float v = x[r * k + c] / gs;
                        int idx = t.indices()[r * k + c];
                        for (int e = 0; e < 16; e++) {
                            float de = Math.abs(v - cb.entry(sel, e)), di = Math.abs(v - cb.entry(sel, idx));
                            assertTrue(di < de || (di == de && cb.entry(sel, idx) <= cb.entry(sel, e)), "column " + c + ": entry " + e + " is nearer");
                        }
                    }
                }
            }
        }
    }

    @Test
    void aPartialLastArrayIsPaddedWithZeroCodesAndNothingElseIsRead() {
        // docs/formats.md §8.1: K = 172 = 2 x 64 + 44, so each row's third record holds 44 scalars (5 blocks and a
        // half) and 20 padding positions; the padding is code 0, its wholly-padding block (the 7th and 8th) selector 0
        LoBcqFormat f = LoBcqFormat.C8_A64;
        int n = 3, k = 172;
        float[] w = weights(n, k, 5);
        LoBcqTensor t = (LoBcqTensor) Rtn.quantizeRtn(f, w, n, k);
        byte[] img = f.pack(t).bytes();
        int rec = 4 * n + 2 * f.recordBytes(); // row 0's partial record
        for (int i = 44; i < 64; i++) assertEquals(0, (img[rec + 4 + i / 2] >>> (4 * (i & 1))) & 0xF, "padding position " + i);
        assertEquals(0, (img[rec + 3] & 0xFF) >>> 2, "blocks 6 and 7 (wholly padding): selectors 0"); // 8 x 3 bits: block 6 at bit 18, block 7 at 21
        // the same rows zero-extended to K = 192 quantize their whole blocks identically
        float[] wide = new float[n * 192];
        for (int r = 0; r < n; r++) {
            System.arraycopy(w, r * k, wide, r * 192, k);
            for (int c = k; c < 192; c++) wide[r * 192 + c] = 0f;
        }
        LoBcqTensor u = (LoBcqTensor) Rtn.quantizeRtn(f, wide, n, 192);
        float[] d = f.dequantize(t), du = f.dequantize(u);
        for (int r = 0; r < n; r++) // whole blocks make the same choices; the partial block 168..171 is judged on its 4 scalars
            for (int c = 0; c < 168; c++) assertEquals(du[r * 192 + c], d[r * k + c], "row " + r + " column " + c);
        // non-zero padding, or a selector in a padding block, is refused in one line
        byte[] bad = img.clone();
        bad[rec + 4 + 30] |= 0x10; // position 61
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.unpackCodes(new PackedTensor(f, n, k, bad)));
        assertTrue(e.getMessage().contains("padding position 61 past K=172 holds code 1"), e.getMessage());
        byte[] bad2 = img.clone();
        bad2[rec + 3] |= (byte) 0x20; // block 7's selector
        e = assertThrows(IllegalArgumentException.class, () -> f.unpackCodes(new PackedTensor(f, n, k, bad2)));
        assertTrue(e.getMessage().contains("block 7 of the last array lies past K=172"), e.getMessage());
    }

    @Test
    void oneCodebookReproducesNvfp4() {
        // docs/formats.md §8.5: N_c = 1, codebook 4 x E2M1 (15 distinct values, 0 twice), T_a = 24, arrays of 16
        LoBcqFormat f = new LoBcqFormat(1, 8, 16, 6, 24, true);
        LoBcqCodebooks cb = new LoBcqCodebooks(6, new int[] {-24, -16, -12, -8, -6, -4, -2, 0, 0, 2, 4, 6, 8, 12, 16, 24});
        int n = 7, k = 256;
        float[] w = weights(n, k, 99);
        ColumnQuantizer q = f.columnQuantizer(n, k, cb);
        double[] row = new double[k];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) row[c] = w[r * k + c];
            for (int c = 0; c < k; c++) { if (q.isDecisionPoint(c)) q.prepare(r, c, row, null); q.quantize(r, c, row[c]); }
        }
        float[] ours = f.dequantize(q.finish());
        // NVFP4 written from its definition: FP32 tensor(row) scale amax/(6*448), E4M3 block scale per 16, E2M1 elements
        int ties = 0;
        for (int r = 0; r < n; r++) {
            float amax = 0;
            for (int c = 0; c < k; c++) amax = Math.max(amax, Math.abs(w[r * k + c]));
            float gnv = amax == 0 ? 1f : amax / (6 * 448f);
            for (int b = 0; b < k / 16; b++) {
                float am = 0;
                for (int c = 0; c < 16; c++) am = Math.max(am, Math.abs(w[r * k + b * 16 + c]));
                int code = am == 0 ? 0 : FpElement.E4M3.encode(am / (6 * gnv));
                if (am != 0 && code == 0) code = 1;
                double s = FpElement.E4M3.decode(code);
                for (int c = b * 16; c < b * 16 + 16; c++) {
                    float want;
                    if (s == 0) want = 0f;
                    else {
                        float v = w[r * k + c] / (gnv * (float) s);
                        double e2m1 = FpElement.E2M1.decode(FpElement.E2M1.encode(v));
                        if (Math.abs(Math.abs(v) * 2 - Math.rint(Math.abs(v) * 2)) == 0 && Math.abs(v) < 6) ties++;
                        want = (float) ((double) gnv * s * e2m1);
                    }
                    assertEquals(Math.abs(want), Math.abs(ours[r * k + c]), "row " + r + " column " + c);
                }
            }
        }
        assertTrue(ties < 20, "the data should have (almost) no exact midpoints: " + ties);
    }

    @Test
    void containerRoundTrip() throws Exception {
        LoBcqFormat f = LoBcqFormat.C8_A64, l = LoBcqFormat.C16_A64.withLocal(true);
        PackedTensor a = f.pack(Rtn.quantizeRtn(f, weights(16, 384, 1), 16, 384));
        PackedTensor b = l.pack(LoBcqDesign.quantizeLocal(l, weights(8, 128, 2), 8, 128, LoBcqDesignConfig.SPEC).tensor());
        Path p = dir.resolve("m.qbz");
        QbzFile.write(p, "bge-small", "ab".repeat(32), "mixed", Map.of(), List.of(new QbzEntry.Packed("a.weight", a), new QbzEntry.Packed("b.weight", b)));
        QbzFile in = QbzFile.open(p);
        assertEquals(a, in.packed("a.weight"));
        assertEquals(b, in.packed("b.weight"));
    }

    @Test
    void badInputIsRefusedInOneLine() {
        LoBcqFormat f = LoBcqFormat.C8_A64;
        float[] w = weights(2, 64, 3);
        w[70] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Rtn.quantize(f, w, 2, 64));
        assertTrue(e.getMessage().contains("row 1, column 6"), e.getMessage());
        byte[] img = f.pack(Rtn.quantizeRtn(f, weights(2, 64, 4), 2, 64)).bytes();
        img[8] = (byte) 0x7F; // NaN scale code in row 0's record
        e = assertThrows(IllegalArgumentException.class, () -> f.unpackCodes(new PackedTensor(f, 2, 64, img)));
        assertTrue(e.getMessage().contains("E4M3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PackedTensor(f, 2, 64, new byte[10]));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LoBcqFormat(8, 8, 64, 6, 31, true).columnQuantizer(2, 64));
        assertTrue(e.getMessage().contains("quantizeLocal"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LoBcqFormat(4, 8, 64, 6, 31, false).universalCodebooks());
        assertTrue(e.getMessage().contains("no universal LO-BCQ codebooks for c4-b8-a64-e6-t31"), e.getMessage());
    }

    @Test
    void aTamperedTableIsRefused() {
        String text = LoBcqCodebooks.universalTables().get("c8-b8-a64-e6-t31").codebooks().toText("c8-b8-a64-e6-t31", "x");
        assertEquals(1, LoBcqCodebooks.parse(text).size());
        String tampered = text.replaceFirst("cb -7", "cb -8");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoBcqCodebooks.parse(tampered));
        assertTrue(e.getMessage().contains("does not match"), e.getMessage());
    }
}
