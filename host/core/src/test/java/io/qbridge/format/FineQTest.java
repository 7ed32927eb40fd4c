package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.quant.Rtn;
import org.junit.jupiter.api.Test;

class FineQTest {
    /** Plain max/3.5 scale, so the hand-computed cases below have s = 1. */
    private static final FineQFormat PLAIN = new FineQFormat(128, 3.5, 0);

    /** All 256 words decode to values that encode back to the same word: every word is a valid code. */
    @Test
    void everyWordDecodesAndReencodesExactly() {
        float s = 0.75f;
        for (int word = 0; word < 256; word++) {
            int idx = FineQFormat.index(word);
            int rebuilt = idx << 6;
            for (int pos = 0; pos < 3; pos++) {
                float v = FineQFormat.decode(word, pos, s);
                int nb = FineQFormat.fieldBits(idx, pos);
                if (nb == 0) { assertEquals(0f, v); continue; }
                double mag = Math.abs(v) / s - 0.5;
                assertEquals(Math.rint(mag), mag, "magnitude is a half-integer multiple of s");
                assertTrue(mag <= (nb == 2 ? 1 : 3));
                rebuilt |= FineQFormat.encodeField(v, s, nb) << FineQFormat.fieldShift(idx, pos);
            }
            assertEquals(word, rebuilt, "word " + word);
        }
    }

    @Test
    void gridsAndLayout() {
        // index 0: positions at bits 1..0, 3..2, 5..4, sign-magnitude, values {+-0.5, +-1.5}*s
        int w = 0b00_11_10_01; // pos0 = 01 (+1.5), pos1 = 10 (-0.5), pos2 = 11 (-1.5)
        assertEquals(1.5f, FineQFormat.decode(w, 0, 1f));
        assertEquals(-0.5f, FineQFormat.decode(w, 1, 1f));
        assertEquals(-1.5f, FineQFormat.decode(w, 2, 1f));
        // index 2: position 1 pruned; pos0 at bits 2..0, pos2 at bits 5..3, values up to +-3.5*s
        w = 0b10_111_011;
        assertEquals(3.5f, FineQFormat.decode(w, 0, 1f));
        assertEquals(0f, FineQFormat.decode(w, 1, 1f));
        assertEquals(-3.5f, FineQFormat.decode(w, 2, 1f));
    }

    @Test
    void picksTheEncodingWithLowerError() {
        // group max 3.5 -> s = 1. Cluster (3.5, 0.1, -0.2): pruning position 1 costs 0.1, 2-bit costs 4.25.
        float[] w = {3.5f, 0.1f, -0.2f, 0.4f, -0.6f, 1.2f};
        FineQTensor t = (FineQTensor) Rtn.quantizeRtn(PLAIN, w, 1, 6);
        assertEquals(1f, Float.float16ToFloat(t.scales()[0]));
        assertEquals(2, FineQFormat.index(t.words()[0] & 0xFF));
        assertEquals(0, FineQFormat.index(t.words()[1] & 0xFF)); // (0.4, -0.6, 1.2) fits the 2-bit grid best
        float[] d = PLAIN.dequantize(t);
        assertArrayEquals(new float[] {3.5f, 0f, -0.5f, 0.5f, -0.5f, 1.5f}, d);
    }

    @Test
    void paddingWhenKIsNotAMultipleOfThree() {
        // k = 5: clusters (0,1,2) and (3,4,pad). The second prunes its pad so both weights get 3 bits.
        float[] w = {0.5f, 0.5f, 0.5f, 3.5f, 2.5f};
        FineQTensor t = (FineQTensor) Rtn.quantizeRtn(PLAIN, w, 1, 5);
        assertEquals(2, t.words().length);
        assertEquals(3, FineQFormat.index(t.words()[1] & 0xFF));
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f, 3.5f, 2.5f}, PLAIN.dequantize(t));
    }

    @Test
    void scaleSearchNeverLosesToThePlainScale() {
        float[] w = TestWeights.gaussianWithOutliers(8, 384, 12, 0.01);
        double plain = sse(w, Rtn.quantize(PLAIN, w, 8, 384).dequantized());
        double searched = sse(w, Rtn.quantize(FineQFormat.DEFAULT, w, 8, 384).dequantized());
        assertTrue(searched <= plain, searched + " > " + plain);
        assertTrue(searched < 0.8 * plain, "search should help on weights with outliers: " + searched + " vs " + plain);
    }

    private static double sse(float[] w, float[] q) {
        double s = 0;
        for (int i = 0; i < w.length; i++) s += (w[i] - q[i]) * (double) (w[i] - q[i]);
        return s;
    }
}
