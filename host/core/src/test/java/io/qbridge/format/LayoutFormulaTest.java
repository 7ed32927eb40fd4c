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
        // N * (K*b/8 + ceil((8 * ceil(NB/G) + NB * (I + L + C*2*log2 B)) / 8)), NB = K/B
        assertEquals(11, MicroScopiQFormat.W4.blockMetadataBits());
        assertEquals(4.75, MicroScopiQFormat.W4.bitsPerWeight(16, 4096));
        assertEquals(2.75, MicroScopiQFormat.W2.bitsPerWeight(16, 4096));
        assertEquals(4.75, MicroScopiQFormat.W4.bitsPerWeight(7, 384)); // bge-small's K: 3 whole macro-blocks
        assertEquals(2.75, MicroScopiQFormat.W2.bitsPerWeight(7, 1536));
        // K = 48: one partial macro-block of 3 blocks: 8 + 3*11 = 41 bits -> 6 bytes per row
        assertEquals(3 * (24 + 6), MicroScopiQFormat.W4.packedBytes(3, 48));
        // K = 160: a whole macro-block (8 + 88 = 96 bits) and a partial one of 2 blocks (8 + 22): 126 bits -> 16 bytes
        assertEquals(2 * (80 + 16), MicroScopiQFormat.W4.packedBytes(2, 160));
        // the first layout as a configuration: e1 per block (G = 1), 4 pairs, 4-bit d: 44 bits per block
        assertEquals(36, MicroScopiQFormat.W4_C4.blockMetadataBits());
        assertEquals(3 * (24 + 17), MicroScopiQFormat.W4_C4.packedBytes(3, 48)); // 3 blocks * 44 bits = 132 bits -> 17 bytes
        assertEquals(6.75, MicroScopiQFormat.W4_C4.bitsPerWeight(16, 4096));
        assertEquals(4.75, MicroScopiQFormat.W2_C4.bitsPerWeight(16, 4096));
        MicroScopiQFormat one = MicroScopiQFormat.perBlock(4, 16, 1, 2.0, FpElement.E4M3, 4);
        assertEquals(4 + 20.0 / 16, one.bitsPerWeight(16, 4096));
        // the variant trading a level-2 bit for a 1-bit inlier offset keeps the budget
        MicroScopiQFormat off = new MicroScopiQFormat(4, 16, 8, 1, 3.0, FpElement.E4M3, 1, 2, -7);
        assertEquals(4.75, off.bitsPerWeight(16, 4096));
        // bits/weight counts every byte actually packed
        for (MicroScopiQFormat f : new MicroScopiQFormat[] {MicroScopiQFormat.W4, MicroScopiQFormat.W2, MicroScopiQFormat.W4_C4, off})
            for (int k : new int[] {16, 48, 128, 160, 384, 1536}) {
                PackedTensor p = f.pack(io.qbridge.quant.Rtn.quantizeRtn(f, TestWeights.gaussianWithOutliers(3, k, k, 0.02), 3, k));
                assertEquals(f.packedBytes(3, k), p.bytes().length);
                assertEquals(8.0 * p.bytes().length / (3.0 * k), f.bitsPerWeight(3, k), 1e-12);
            }
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
