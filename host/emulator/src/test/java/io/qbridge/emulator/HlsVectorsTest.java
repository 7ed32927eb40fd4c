package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.qbridge.device.ActivationMode;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The HLS vector writer: the kernel arguments each format maps to (hls/kernels/qbridge_kernels.h) and the file layout. */
class HlsVectorsTest {
    @Test
    void formatsMapToTheKernelArgumentsTheHeaderDocuments() {
        assertArrayEquals(new int[] {4, 8, 1, 1, 2, -7}, HlsVectors.kernelArgs(QuantFormat.parse("microscopiq-w4")));
        assertArrayEquals(new int[] {2, 8, 1, 1, 2, -1}, HlsVectors.kernelArgs(QuantFormat.parse("microscopiq-w2")));
        assertArrayEquals(new int[] {4, 1, 4, 0, 4, 0}, HlsVectors.kernelArgs(QuantFormat.parse("microscopiq-w4-c4")));
        assertArrayEquals(new int[] {2, 1, 4, 0, 4, 0}, HlsVectors.kernelArgs(QuantFormat.parse("microscopiq-w2-c4")));
        assertArrayEquals(new int[] {128}, HlsVectors.kernelArgs(QuantFormat.parse("fineq")));
        assertArrayEquals(new int[] {0}, HlsVectors.kernelArgs(QuantFormat.parse("mxint8")));
        assertArrayEquals(new int[] {2}, HlsVectors.kernelArgs(QuantFormat.parse("mxfp8-e5m2")));
        assertArrayEquals(new int[] {5}, HlsVectors.kernelArgs(QuantFormat.parse("mxfp4")));
        assertArrayEquals(new int[] {4, 128, 1}, HlsVectors.kernelArgs(QuantFormat.parse("rtn-w4g128")));
        assertArrayEquals(new int[] {4, 128, 0}, HlsVectors.kernelArgs(QuantFormat.parse("int4-asym-g128")));
        assertEquals(0, HlsVectors.kernel(QuantFormat.parse("microscopiq-w2-c4")));
        assertEquals(3, HlsVectors.kernel(QuantFormat.parse("int2-asym-g7")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HlsVectors.kernelArgs(QuantFormat.parse("microscopiq-w4-b32-m4-o1-s2.0-e4m3-i1-l2b-7")));
        assertEquals("microscopiq-w4-b32-m4-o1-s2.0-e4m3-i1-l2b-7: the MicroScopiQ kernel builds blocks of 16 only", e.getMessage());
    }

    @Test
    void aCaseIsWrittenInTheDocumentedLayout() {
        QuantFormat f = QuantFormat.parse("mxfp4");
        int n = 3, k = 40, tokens = 2;
        PackedTensor p = HlsVectors.pack(f, HlsVectors.weights(n, k, 1, false), n, k);
        float[] bias = {0.5f, -1f, 2f};
        HlsVectors.Case c = HlsVectors.make("one", p, ActivationMode.MXINT8_BLOCK32, HlsVectors.activations(tokens, k, 2, false), tokens, bias);
        assertEquals(tokens * 2, c.scales().length, "two E8M0 bytes per token (k = 40)");
        ByteBuffer b = ByteBuffer.wrap(HlsVectors.encode(2, List.of(c))).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        b.get(magic);
        assertEquals("QBHLSVEC", new String(magic, StandardCharsets.US_ASCII));
        assertEquals(1, b.getInt());
        assertEquals(2, b.getInt());
        assertEquals(1, b.getInt());
        assertEquals("one", str(b));
        assertEquals("mxfp4", str(b));
        assertArrayEquals(new int[] {1, n, k, tokens, 1, 1, 5}, new int[] {b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt()});
        assertArrayEquals(p.bytes(), blob(b));
        assertArrayEquals(c.codes(), blob(b));
        assertArrayEquals(c.scales(), blob(b));
        for (float v : bias) assertEquals(Float.floatToRawIntBits(v), b.getInt());
        for (float y : c.expected()) assertEquals(Float.floatToRawIntBits(y), b.getInt());
        assertEquals(0, b.remaining());
        assertThrows(IllegalArgumentException.class, () -> HlsVectors.encode(0, List.of(c)), "an MX case in the MicroScopiQ file");
    }

    private static String str(ByteBuffer b) {
        byte[] x = new byte[b.getInt()];
        b.get(x);
        return new String(x, StandardCharsets.UTF_8);
    }

    private static byte[] blob(ByteBuffer b) {
        byte[] x = new byte[(int) b.getLong()];
        b.get(x);
        return x;
    }
}
