package io.qbridge.format;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.quant.Quantized;
import io.qbridge.quant.Rtn;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

/**
 * For every format and several odd shapes: the byte image has exactly packedBytes(n, k) bytes, unpack is
 * the exact inverse of pack, and dequantizing the packed image reproduces the quantizer's own output bit
 * for bit.
 */
class FormatRoundTripTest {
    static Stream<Arguments> cases() {
        String[] names = {"rtn-w4g128", "rtn-w2g32", "rtn-w3g128", "rtn-w8g64", "int4-asym-g128", "int3-asym-g5", "int2-asym-g128",
                "mxint8", "mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp4", "fineq"};
        int[][] shapes = {{1, 1}, {3, 37}, {5, 130}, {2, 257}, {7, 384}};
        Stream.Builder<Arguments> b = Stream.builder();
        for (String s : names) for (int[] sh : shapes) b.add(Arguments.of(s, sh[0], sh[1]));
        // the defaults (macro-blocks of 128: 48 and 144 end in a partial macro-block), the first per-block layout,
        // and the level-2/inlier-offset variants at the same budget
        for (String s : new String[] {"microscopiq-w4", "microscopiq-w2", "microscopiq-w4-c4", "microscopiq-w2-c4",
                "microscopiq-w4-b16-m8-o1-s3.0-e4m3-i0-l3b-7", "microscopiq-w2-b16-m4-o1-s2.0-e2m1-i0-l2b-1", "microscopiq-w4-b16-m8-o1-s2.0-e4m3-i2-l1b-7"})
            for (int[] sh : new int[][] {{1, 16}, {3, 48}, {5, 144}, {2, 256}, {3, 384}}) b.add(Arguments.of(s, sh[0], sh[1]));
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("cases")
    void packUnpackDequantize(String name, int n, int k) {
        QuantFormat f = QuantFormat.parse(name);
        assertEquals(name, f.id());
        float[] w = TestWeights.gaussianWithOutliers(n, k, 31L * n + k, 0.02);
        Quantized q = Rtn.quantize(f, w, n, k);
        PackedTensor p = f.pack(q.tensor());
        assertEquals(f.packedBytes(n, k), p.bytes().length);
        QuantizedTensor back = f.unpackCodes(p);
        assertEquals(q.tensor(), back);
        assertArrayEquals(p.bytes(), f.pack(back).bytes());
        float[] d = f.dequantize(p);
        for (int i = 0; i < d.length; i++)
            assertEquals(Float.floatToRawIntBits(q.dequantized()[i]), Float.floatToRawIntBits(d[i]), "element " + i);
        assertEquals(8.0 * f.packedBytes(n, k) / ((double) n * k), f.bitsPerWeight(n, k));
        // Quantization is sane: the error is well below the weights' spread.
        double err = 0, ref = 0;
        for (int i = 0; i < w.length; i++) { err += (w[i] - d[i]) * (w[i] - d[i]); ref += w[i] * w[i]; }
        double bound = name.startsWith("int2") || name.startsWith("rtn-w2") ? 4.0 : 0.6; // 2 bits with 8-16x outliers is genuinely this bad
        assertTrue(err <= bound * ref + 1e-12, name + " relative error " + err / ref);
    }
}
