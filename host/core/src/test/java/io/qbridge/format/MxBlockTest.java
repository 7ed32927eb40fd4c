package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.quant.Rtn;
import io.qbridge.quant.Quantized;
import org.junit.jupiter.api.Test;

/** OCP MX v1.0 §6.3 block rules on hand-computed blocks (1 x 32 matrices). */
class MxBlockTest {
    private static MxTensor quant(MxFormat f, float[] w) {
        return (MxTensor) Rtn.quantizeRtn(f, w, 1, w.length);
    }

    @Test
    void sharedExponentAndSaturation() {
        float[] w = new float[32];
        w[0] = 7f;   // floor(log2 7) - emax(E2M1)=2 -> X = 1; 7 saturates to 6
        w[1] = -2.5f; // tie -> -2
        w[2] = 0.2f;  // below 0.25 -> 0
        MxTensor t = quant(MxFormat.MXFP4, w);
        assertEquals(127, t.scales()[0] & 0xFF);
        assertEquals(0x7, t.codes()[0]);
        assertEquals(0xC, t.codes()[1]);
        assertEquals(0x0, t.codes()[2]);
        float[] d = MxFormat.MXFP4.dequantize(t);
        assertEquals(6f, d[0]);
        assertEquals(-2f, d[1]);
        assertEquals(0f, d[2]);
    }

    @Test
    void e4m3SubnormalElements() {
        float[] w = new float[32];
        w[0] = 448f;                       // X = 2^(8 - 8) = 1
        w[1] = (float) Math.scalb(1.0, -9); // smallest E4M3 subnormal
        w[2] = (float) Math.scalb(1.0, -11); // a quarter of it -> 0
        w[3] = (float) (3 * Math.scalb(1.0, -9)); // subnormal M=3
        MxTensor t = quant(MxFormat.MXFP8_E4M3, w);
        assertEquals(127, t.scales()[0] & 0xFF);
        assertEquals(0x01, t.codes()[1]);
        assertEquals(0x00, t.codes()[2]);
        assertEquals(0x03, t.codes()[3]);
        assertEquals((float) Math.scalb(1.0, -9), MxFormat.MXFP8_E4M3.dequantize(t)[1]);
    }

    /** fp32 subnormal inputs are not flushed: the scale clamps at 2^-127 and the element carries the rest. */
    @Test
    void fp32SubnormalInputs() {
        float[] w = new float[32];
        w[0] = (float) Math.scalb(1.0, -128);  // fp32 subnormal; floor(log2) - 8 = -136 -> clamped to -127
        w[1] = -(float) Math.scalb(1.0, -130);
        MxTensor t = quant(MxFormat.MXFP8_E4M3, w);
        assertEquals(0, t.scales()[0]);
        assertEquals(0x30, t.codes()[0]);        // 0.5 = E4M3 exponent 6, mantissa 0
        assertEquals((byte) 0xA0, t.codes()[1]); // -0.125 = sign, exponent 4
        float[] d = MxFormat.MXFP8_E4M3.dequantize(t);
        assertEquals(w[0], d[0]);
        assertEquals(w[1], d[1]);
    }

    @Test
    void mxint8Block() {
        float[] w = new float[32];
        w[0] = 1.5f;   // X = 2^0 -> 96/64
        w[1] = -1.999f; // -> -127
        w[2] = 0.01f;   // 0.64 -> 1
        MxTensor t = quant(MxFormat.MXINT8, w);
        assertEquals(127, t.scales()[0] & 0xFF);
        assertEquals(96, t.codes()[0]);
        assertEquals((byte) 0x81, t.codes()[1]);
        assertEquals(1, t.codes()[2]);
        w[3] = -2f; // now max = 2 -> X = 2
        t = quant(MxFormat.MXINT8, w);
        assertEquals(128, t.scales()[0] & 0xFF);
        assertEquals((byte) -64, t.codes()[3]);
    }

    @Test
    void allZeroBlockUsesSmallestScaleAndDecodesToZero() {
        MxTensor t = quant(MxFormat.MXFP8_E5M2, new float[32]);
        assertEquals(0, t.scales()[0]);
        for (byte c : t.codes()) assertEquals(0, c);
        for (float v : MxFormat.MXFP8_E5M2.dequantize(t)) assertEquals(0f, v);
    }

    @Test
    void nanOrInfMakesTheWholeBlockNaNButNotItsNeighbour() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] w = new float[40];
            w[5] = bad;
            w[6] = 1f;
            w[33] = 1f;
            Quantized q = Rtn.quantize(MxFormat.MXFP6_E2M3, w, 1, 40);
            MxTensor t = (MxTensor) q.tensor();
            assertEquals(0xFF, t.scales()[0] & 0xFF);
            assertEquals(0, t.codes()[5]);
            float[] d = MxFormat.MXFP6_E2M3.dequantize(t);
            for (int i = 0; i < 32; i++) assertTrue(Float.isNaN(d[i]));
            assertEquals(1f, d[33]);
            assertEquals(Float.floatToRawIntBits(q.dequantized()[0]), Float.floatToRawIntBits(d[0]));
        }
    }

    @Test
    void e3m2SaturatesAtMaxNormal() {
        float[] w = new float[32];
        w[0] = 31f; // floor(log2 31) = 4, emax 4 -> X = 1; 31 -> 32 after rounding -> saturate to 28
        MxTensor t = quant(MxFormat.MXFP6_E3M2, w);
        assertEquals(28f, MxFormat.MXFP6_E3M2.dequantize(t)[0]);
    }
}
