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

    @Test
    void loBcqMapsToItsKernelWithTheTableInFrontOfTheImage() {
        QuantFormat f = QuantFormat.parse("lobcq-c8-a64");
        assertEquals(4, HlsVectors.kernel(f));
        assertArrayEquals(new int[] {8, 8, 64}, HlsVectors.kernelArgs(f));
        assertArrayEquals(new int[] {4, 4, 32}, HlsVectors.kernelArgs(QuantFormat.parse("lobcq-c4-b4-a32-e8-t100-local")));
        assertEquals(List.of(ActivationMode.INT8_PER_TOKEN, ActivationMode.MXINT8_BLOCK32, ActivationMode.LOBCQ), HlsVectors.modes(f));
        assertEquals(2, HlsVectors.actModeArg(ActivationMode.LOBCQ));
        PackedTensor p = HlsVectors.pack(f, HlsVectors.weights(3, 128, 4, false), 3, 128);
        byte[] w = HlsVectors.kernelWeights(p);
        int[] table = LoBcqWeights.decode(p).table().entries();
        assertEquals(table.length + p.bytes().length, w.length);
        for (int i = 0; i < table.length; i++) assertEquals(table[i], w[i], "table entry " + i);
        assertArrayEquals(p.bytes(), java.util.Arrays.copyOfRange(w, table.length, w.length));
        QuantFormat local = QuantFormat.parse("lobcq-c4-b4-a32-e8-t100-local");
        PackedTensor pl = HlsVectors.pack(local, HlsVectors.weights(3, 64, 5, false), 3, 64);
        assertArrayEquals(pl.bytes(), HlsVectors.kernelWeights(pl), "a -local image already starts with its table");
    }

    @Test
    void loBcqActivationsAreTheRowScalesAndRecordsOfTheEmulatorsEncoding() {
        QuantFormat f = QuantFormat.parse("lobcq-c16-a128");
        int k = 256, tokens = 3;
        PackedTensor p = HlsVectors.pack(f, HlsVectors.weights(2, k, 6, false), 2, k);
        float[] x = HlsVectors.activations(tokens, k, 7, true);
        KernelInputs in = HlsVectors.inputs(p, ActivationMode.LOBCQ, x, tokens);
        LoBcqWeights lw = LoBcqWeights.decode(p);
        LoBcqActivations a = LoBcqActivations.encode(new io.qbridge.format.LoBcqEncoder(lw.format(), lw.table()), x, tokens, k);
        io.qbridge.format.LoBcqFormat lf = (io.qbridge.format.LoBcqFormat) f;
        assertEquals(4 * tokens, in.scales().length);
        assertEquals(tokens * (k / 128) * lf.recordBytes(), in.codes().length);
        ByteBuffer g = ByteBuffer.wrap(in.scales()).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < tokens; r++) assertEquals(Float.floatToRawIntBits(a.g()[r]), g.getInt(), "row scale of token " + r);
        // the records read back through the weights' own decoder give the encoder's scales, selectors and indices
        byte[] image = new byte[in.scales().length + in.codes().length];
        System.arraycopy(in.scales(), 0, image, 0, in.scales().length);
        System.arraycopy(in.codes(), 0, image, in.scales().length, in.codes().length);
        LoBcqWeights back = LoBcqWeights.decode(new PackedTensor(f, tokens, k, image));
        assertArrayEquals(a.sel(), back.selW());
        assertArrayEquals(a.idx(), back.idxW());
        for (int i = 0; i < a.scales().length; i++) {
            assertEquals(io.qbridge.format.LoBcqFormat.e4m3Significand(a.scales()[i] & 0xFF), back.sigW()[i]);
            assertEquals(io.qbridge.format.LoBcqFormat.e4m3Exponent(a.scales()[i] & 0xFF), back.expW()[i]);
        }
    }

    @Test
    void axBxpConfigurationsMapToTheKernelsScalarsWithTheMaskInRowsOfSeven() {
        AxBxp.Config c = new AxBxp.Config(new AxBxp.Operand(1, 7, AxBxp.Window.STATIC), new AxBxp.Operand(1, 5, AxBxp.Window.DYNAMIC), AxBxp.Mask.significance(7, 5, 0));
        int[] args = AxBxpVectors.kernelArgs(32, c);
        // significance(0) keeps only the top pair (6, 4): bit 6 * 7 + 4 = 46 of the 64-bit mask
        assertArrayEquals(new int[] {32, 1, 7, 0, 5, 1, 0, 1 << (46 - 32)}, args);
        assertArrayEquals(new int[] {128, 2, 2, 0, 2, 0, 0b110000011, 0}, AxBxpVectors.kernelArgs(128, AxBxp.Config.full(2, 2, 2, AxBxp.Window.STATIC)));
        assertEquals("K1-x7S-w5D-m1", AxBxpVectors.configId(c));
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
