package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** packedBytes and bitsPerWeight against the closed forms written in docs/formats.md. */
class LayoutFormulaTest {
    @Test
    void intGroup() {
        // N * ceil(K*b/8) + 2 * N * ceil(K/g) (* 2 if asymmetric)
        assertEquals(3 * 19 + 2 * 3, QuantFormat.parse("rtn-w4g128").packedBytes(3, 37));
        assertEquals(5 * 49 + 2 * 5 * 2 * 2, QuantFormat.parse("int3-asym-g128").packedBytes(5, 130));
        assertEquals(4.125, QuantFormat.parse("rtn-w4g128").bitsPerWeight(64, 4096));
        assertEquals(4.25, QuantFormat.parse("int4-asym-g128").bitsPerWeight(64, 4096));
        assertEquals(3.125, QuantFormat.parse("rtn-w3g128").bitsPerWeight(64, 4096));
    }

    @Test
    void mx() {
        // N * ceil(K*e/8) + N * ceil(K/32)
        assertEquals(2 * 193 + 2 * 9, MxFormat.MXFP6_E2M3.packedBytes(2, 257));
        assertEquals(3 * 19 + 3 * 2, MxFormat.MXFP4.packedBytes(3, 37));
        assertEquals(8.25, MxFormat.MXINT8.bitsPerWeight(8, 4096));
        assertEquals(8.25, MxFormat.MXFP8_E4M3.bitsPerWeight(8, 4096));
        assertEquals(6.25, MxFormat.MXFP6_E3M2.bitsPerWeight(8, 4096));
        assertEquals(4.25, MxFormat.MXFP4.bitsPerWeight(8, 4096));
    }

    @Test
    void microScopiQ() {
        // N * (K*b/8 + ceil((K/B) * (8 + l2 + cap*2*log2 B) / 8))
        assertEquals(44, MicroScopiQFormat.W4.metadataBitsPerBlock());
        assertEquals(3 * (24 + 17), MicroScopiQFormat.W4.packedBytes(3, 48)); // 3 blocks * 44 bits = 132 bits -> 17 bytes
        assertEquals(6.75, MicroScopiQFormat.W4.bitsPerWeight(16, 4096));
        assertEquals(4.75, MicroScopiQFormat.W2.bitsPerWeight(16, 4096));
        MicroScopiQFormat one = new MicroScopiQFormat(4, 16, 1, 2.0, FpElement.E4M3, 4);
        assertEquals(4 + 20.0 / 16, one.bitsPerWeight(16, 4096));
    }

    @Test
    void fineQ() {
        // N * (sum over groups of ceil(len/3) + 2 * ceil(K/g))
        assertEquals(44, FineQFormat.DEFAULT.wordsPerRow(130));
        assertEquals(5 * (44 + 4), FineQFormat.DEFAULT.packedBytes(5, 130));
        assertEquals(13, FineQFormat.DEFAULT.wordsPerRow(37));
        assertEquals(8.0 * 43 / 128 + 16.0 / 128, FineQFormat.DEFAULT.bitsPerWeight(4, 4096));
        FineQFormat g129 = new FineQFormat(129, 3.5, 8);
        assertEquals(8.0 / 3 + 16.0 / 129, g129.bitsPerWeight(2, 129 * 4), 1e-12);
    }
}
