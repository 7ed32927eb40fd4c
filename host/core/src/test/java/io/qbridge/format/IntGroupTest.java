package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.quant.Rtn;
import org.junit.jupiter.api.Test;

/** Group-wise INT on hand-computed groups. */
class IntGroupTest {
    private static float fp16(double v) {
        return Float.float16ToFloat(Float.floatToFloat16((float) v));
    }

    @Test
    void symmetricInt4() {
        float[] w = {1.4f, -0.7f, 0.05f, -1.5f, /* group 2 */ 0f, 0f, 0f, 0f};
        IntGroupTensor t = (IntGroupTensor) Rtn.quantizeRtn(new IntGroupFormat(4, 4, true), w, 1, 8);
        float s = fp16(1.5 / 7);
        assertEquals(s, Float.float16ToFloat(t.scales()[0]));
        assertEquals(7, t.codes()[0]);          // 1.4 / 0.2143 = 6.53 -> 7
        assertEquals(0xD, t.codes()[1] & 0xF);  // -0.7 / s = -3.27 -> -3 (two's complement 1101)
        assertEquals(0, t.codes()[2]);
        assertEquals(0x9, t.codes()[3] & 0xF);  // -7 = 1001
        assertEquals(0, t.scales()[1]);         // all-zero group: scale 0, codes 0
        float[] d = new IntGroupFormat(4, 4, true).dequantize(t);
        assertEquals(7 * s, d[0]);
        assertEquals(-3 * s, d[1]);
        assertEquals(0f, d[4]);
    }

    @Test
    void asymmetricInt2() {
        float[] w = {0.1f, 0.4f, 0.7f, 0.25f};
        IntGroupFormat f = new IntGroupFormat(2, 4, false);
        IntGroupTensor t = (IntGroupTensor) Rtn.quantizeRtn(f, w, 1, 4);
        float s = fp16(0.7 / 3);          // range [min(0, 0.1), 0.7] = [0, 0.7]
        assertEquals(s, Float.float16ToFloat(t.scales()[0]));
        assertEquals(0, t.zeros()[0]);    // lo = 0 -> z = 0
        assertArrayEquals(new byte[] {0, 2, 3, 1}, t.codes()); // 0.43, 1.71, 3.0, 1.07 rounded
        assertEquals(2 * s, f.dequantize(t)[1]);
        // A group with negative values: z = fp16(-lo / s), value = (q - z) * s.
        float[] v = {-0.3f, 0.3f, 0f, 0.1f};
        t = (IntGroupTensor) Rtn.quantizeRtn(f, v, 1, 4);
        float s2 = fp16(0.6 / 3), z2 = fp16(0.3 / s2);
        assertEquals(z2, Float.float16ToFloat(t.zeros()[0]));
        assertEquals(((float) t.codes()[0] - z2) * s2, f.dequantize(t)[0]);
    }
}
