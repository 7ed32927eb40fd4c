package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** OCP MX v1.0 element and scale encodings on hand-computed vectors, plus exhaustive code round trips. */
class ElementCodecTest {

    @Test
    void e4m3HandVectors() {
        FpElement f = FpElement.E4M3;
        assertEquals(0x38, f.encode(1.0));             // E=7 (bias 7), M=0
        assertEquals(0x7E, f.encode(448));             // max normal S.1111.110
        assertEquals(0x7E, f.encode(470));             // rounds to 480 > 448: saturate, never NaN
        assertEquals(0x7E, f.encode(1e6));
        assertEquals(0xFE, f.encode(-1e6));
        assertEquals(0x01, f.encode(Math.scalb(1.0, -9)));      // smallest subnormal
        assertEquals(0x00, f.encode(Math.scalb(1.0, -10)));     // half of it: tie to even -> 0
        assertEquals(0x02, f.encode(3 * Math.scalb(1.0, -10))); // 1.5 quanta: tie to even -> 2
        assertEquals(0x08, f.encode(Math.scalb(1.0, -6)));      // smallest normal 2^-6
        assertEquals(0x80, f.encode(-0.0));
        assertTrue(Double.isNaN(f.decode(0x7F)));
        assertTrue(Double.isNaN(f.decode(0xFF)));
        assertEquals(448.0, f.decode(0x7E));
        assertEquals(8, f.emax());
    }

    @Test
    void e5m2HandVectors() {
        FpElement f = FpElement.E5M2;
        assertEquals(0x3C, f.encode(1.0));
        assertEquals(0x7B, f.encode(57344));
        assertEquals(0x7B, f.encode(61440)); // tie between 57344 and 65536 (not finite): saturates
        assertEquals(0x01, f.encode(Math.scalb(1.0, -16)));
        assertEquals(Double.POSITIVE_INFINITY, f.decode(0x7C));
        assertEquals(Double.NEGATIVE_INFINITY, f.decode(0xFC));
        assertTrue(Double.isNaN(f.decode(0x7D)));
        assertEquals(15, f.emax());
    }

    @Test
    void fp6AndFp4HandVectors() {
        assertEquals(0x1F, FpElement.E2M3.encode(7.5));
        assertEquals(0x1F, FpElement.E2M3.encode(100));
        assertEquals(0x08, FpElement.E2M3.encode(1.0));
        assertEquals(0x01, FpElement.E2M3.encode(0.125)); // subnormal 1/8
        assertEquals(0x1F, FpElement.E3M2.encode(28));
        assertEquals(0x01, FpElement.E3M2.encode(0.0625));
        FpElement f = FpElement.E2M1;
        double[] values = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
        for (int c = 0; c < 8; c++) {
            assertEquals(values[c], f.decode(c));
            assertEquals(-values[c], f.decode(8 | c));
        }
        assertEquals(0x4, f.encode(2.5));  // tie 2|3 -> even mantissa (2)
        assertEquals(0x6, f.encode(5.0));  // tie 4|6 -> 4
        assertEquals(0x0, f.encode(0.25)); // tie 0|0.5 -> 0
        assertEquals(0x2, f.encode(0.75)); // tie 0.5 (code 1) | 1.0 (code 2) -> 1.0
        assertEquals(0x7, f.encode(6.5));  // saturate
        assertEquals(2, f.emax());
    }

    @Test
    void everyFiniteCodeRoundTrips() {
        for (FpElement f : FpElement.values())
            for (int c = 0; c < (1 << f.bits()); c++) {
                double v = f.decode(c);
                if (!Double.isFinite(v)) continue;
                assertEquals(c, f.encode(v), f + " code " + c);
            }
        for (int b = 2; b <= 8; b++) {
            MxInt m = new MxInt(b);
            for (int c = 0; c < (1 << b); c++) {
                if (c == 1 << (b - 1)) continue; // -2^(b-1) is decodable but never produced
                assertEquals(c, m.encode(m.decode(c)), "INT" + b + " code " + c);
            }
        }
    }

    @Test
    void mxInt8() {
        MxInt m = MxInt.INT8;
        assertEquals(1.0, m.decode(64));
        assertEquals(1 + 63.0 / 64, m.decode(127));
        assertEquals(-2.0, m.decode(0x80));
        assertEquals(127, m.encode(1.999));      // saturates symmetrically
        assertEquals(0x81, m.encode(-1.999));    // -127, not -128
        assertEquals(2, m.encode(3.0 / 128));    // 1.5 LSB: tie to even -> 2
        assertEquals(2, m.encode(5.0 / 128));    // 2.5 LSB -> 2
    }

    @Test
    void e8m0() {
        assertTrue(Double.isNaN(E8M0.decode(0xFF)));
        assertEquals(1.0, E8M0.decode(127));
        assertEquals(Math.scalb(1.0, -127), E8M0.decode(0));
        assertEquals(0, E8M0.sharedExponent(6.0, 2));     // MXFP4: floor(log2 6) - 2
        assertEquals(-2, E8M0.sharedExponent(6.0, 4));
        assertEquals(-127, E8M0.sharedExponent(0.0, 8));   // all-zero block: smallest scale
        assertEquals(-127, E8M0.sharedExponent(Math.scalb(1.0, -140), 0)); // clamped
        assertThrows(IllegalArgumentException.class, () -> E8M0.encode(128));
    }
}
