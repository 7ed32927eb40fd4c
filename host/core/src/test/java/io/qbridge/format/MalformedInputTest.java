package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.quant.Rtn;
import org.junit.jupiter.api.Test;

class MalformedInputTest {
    private static String msg(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void unknownFormatNamesTheClosestAndPointsToTheList() {
        String m = msg(() -> QuantFormat.parse("mxfp5"));
        assertTrue(m.contains("unknown format 'mxfp5' (did you mean mxfp4") && m.endsWith("'qbridge formats' lists them"), m);
        assertTrue(msg(() -> QuantFormat.parse("zzzzzzzzzzzzzzzz")).equals("unknown format 'zzzzzzzzzzzzzzzz'; 'qbridge formats' lists them"));
        assertTrue(msg(() -> QuantFormat.parse("rtn-w5g128")).contains("2, 3, 4, 8"));
        assertTrue(msg(() -> QuantFormat.parse("rtn-w4g0")).contains("group size"));
    }

    @Test
    void everyIdParsesBackToItsFormat() {
        QuantFormat[] all = {new IntGroupFormat(3, 64, true), new IntGroupFormat(8, 7, false), MxFormat.MXFP4, new MxFormat(FpElement.E3M2, 16),
                MicroScopiQFormat.W4, MicroScopiQFormat.W2, MicroScopiQFormat.perBlock(4, 16, 1, 2.5, FpElement.E4M3, 3), FineQFormat.DEFAULT,
                new FineQFormat(129, 3.0, 0)};
        for (QuantFormat f : all) assertEquals(f, QuantFormat.parse(f.id()), f.id());
        assertEquals(QuantFormat.parse("rtn-w4g128"), QuantFormat.parse("INT4-sym-g128"));
    }

    @Test
    void truncatedAndOversizedImages() {
        QuantFormat f = QuantFormat.parse("fineq");
        long size = f.packedBytes(2, 10);
        String m = msg(() -> new PackedTensor(f, 2, 10, new byte[(int) size - 1]));
        assertTrue(m.contains("truncated") && m.contains(Long.toString(size)), m);
        assertTrue(msg(() -> new PackedTensor(f, 2, 10, new byte[(int) size + 3])).contains("too long"));
    }

    @Test
    void wrongShapes() {
        QuantFormat f = QuantFormat.parse("rtn-w4g128");
        assertTrue(msg(() -> Rtn.quantizeRtn(f, new float[10], 3, 4)).contains("does not match shape 3x4"));
        assertTrue(msg(() -> f.packedBytes(0, 4)).contains("positive"));
        assertTrue(msg(() -> Rtn.quantizeRtn(MicroScopiQFormat.W2, new float[30], 1, 30)).contains("multiple of the block size"));
    }

    @Test
    void formatMismatch() {
        QuantizedTensor q = Rtn.quantizeRtn(MxFormat.MXFP4, new float[32], 1, 32);
        assertTrue(msg(() -> MxFormat.MXFP8_E4M3.pack(q)).contains("mxfp4"));
        PackedTensor p = MxFormat.MXFP4.pack(q);
        assertTrue(msg(() -> IntGroupFormat.class.cast(QuantFormat.parse("rtn-w4g32")).unpackCodes(p)).contains("not rtn-w4g32"));
    }

    @Test
    void codesThatDoNotFitTheirFieldAreRejected() {
        IntGroupFormat f = new IntGroupFormat(4, 128, true);
        String m = msg(() -> new IntGroupTensor(f, 1, 2, new byte[] {3, 17}, new short[1], null));
        assertTrue(m.contains("codes[1] = 17") && m.contains("4 bits"), m);
        assertTrue(msg(() -> new MxTensor(MxFormat.MXFP4, 1, 1, new byte[] {16}, new byte[1])).contains("does not fit"));
    }

    @Test
    void nonFiniteWeightsInNonMxFormats() {
        float[] w = new float[16];
        w[3] = Float.NaN;
        assertTrue(msg(() -> Rtn.quantizeRtn(QuantFormat.parse("rtn-w4g128"), w, 1, 16)).contains("column 3"));
        assertTrue(msg(() -> Rtn.quantizeRtn(MicroScopiQFormat.W4, w, 1, 16)).contains("column 3"));
        assertTrue(msg(() -> Rtn.quantizeRtn(FineQFormat.DEFAULT, w, 1, 16)).contains("column 3"));
    }
}
