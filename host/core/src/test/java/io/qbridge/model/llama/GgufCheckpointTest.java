package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qbridge.model.gguf.GgmlType;
import io.qbridge.model.gguf.GgufFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GGUF checkpoints written by the tests' own {@link GgufWriter} from the weights of a llama2.c {@code .bin}
 * load as that {@code .bin} does: F32 bit for bit (weights and logits), the other types equal to a
 * dequantization of the written bytes done here, independently of {@link GgmlType}.
 */
class GgufCheckpointTest {
    @TempDir
    Path tmp;

    /** Rows of 32 and 64: whole Q8_0/Q4_0 blocks everywhere; 4 heads over 2 KV heads. */
    static LlamaConfig config(boolean shared) {
        return LlamaConfig.llama2c(32, 64, 2, 4, 2, 67, 24, shared);
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {true, false})
    void f32LoadsAsTheLlama2cBinBitForBit(boolean shared) throws IOException {
        TinyLlama m = new TinyLlama(config(shared), 11);
        Path bin = tmp.resolve("m.bin");
        m.writeLlama2c(bin);
        Path gguf = GgufWriter.llama(m, GgmlType.F32).write(tmp.resolve("m.gguf"));
        LlamaWeights fromBin = Llama2cCheckpoint.load(bin), fromGguf = GgufCheckpoint.load(gguf);
        assertEquals(fromBin.config(), fromGguf.config());
        assertEquals(fromBin.config(), GgufCheckpoint.readConfig(gguf));
        List<float[]> a = tensors(fromBin), b = tensors(fromGguf);
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), "tensor " + i);
        LlamaDecoder da = new LlamaDecoder(fromBin), db = new LlamaDecoder(fromGguf);
        int[] prompt = {1, 5, 66, 0, 30, 7};
        for (int pos = 0; pos < prompt.length; pos++) {
            float[] la = da.forward(prompt[pos], pos), lb = db.forward(prompt[pos], pos);
            for (int v = 0; v < la.length; v++) {
                assertEquals(Float.floatToRawIntBits(la[v]), Float.floatToRawIntBits(lb[v]), "logit " + v + " at position " + pos);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16", "Q8_0", "Q4_0"})
    void quantizedTypesDequantizeToTheWrittenValues(GgmlType type) throws IOException {
        TinyLlama m = new TinyLlama(config(false), 12);
        Path bin = tmp.resolve("m.bin");
        m.writeLlama2c(bin);
        Path gguf = GgufWriter.llama(m, type).write(tmp.resolve("m.gguf"));
        List<float[]> original = tensors(Llama2cCheckpoint.load(bin)), loaded = tensors(GgufCheckpoint.load(gguf));
        boolean[] matrix = matrices(m.config);
        int changed = 0;
        for (int i = 0; i < original.size(); i++) {
            float[] expected = matrix[i] ? dequantize(type, GgufWriter.encode(type, original.get(i))) : original.get(i);
            assertArrayEquals(expected, loaded.get(i), type + " tensor " + i);
            if (matrix[i] && !java.util.Arrays.equals(expected, original.get(i))) changed++;
        }
        // the comparison means something: quantization changed the matrices
        assertEquals(true, changed > 0, "no tensor changed under " + type);
    }

    /** Every tensor in a fixed order: embedding, per layer norms and the seven matrices, final norm, classifier. */
    static List<float[]> tensors(LlamaWeights w) {
        List<float[]> out = new ArrayList<>();
        out.add(w.tokenEmbedding());
        for (LlamaWeights.Layer l : w.layers()) {
            out.add(l.attnNorm());
            out.add(l.ffnNorm());
            for (var lin : l.linears()) out.add(lin.weightsOutIn());
        }
        out.add(w.finalNorm());
        out.add(w.classifier().weightsOutIn());
        return out;
    }

    /** Which entries of {@link #tensors} GgufWriter.llama stores in the chosen type (the rest are F32 norms). */
    private static boolean[] matrices(LlamaConfig c) {
        boolean[] m = new boolean[1 + c.nLayers() * 9 + 2];
        m[0] = true;
        for (int l = 0; l < c.nLayers(); l++) for (int k = 2; k < 9; k++) m[1 + l * 9 + k] = true;
        m[m.length - 1] = true;
        return m;
    }

    /** IEEE half to float from its fields, without Float.float16ToFloat. */
    static float half(int h) {
        int sign = (h >>> 15) & 1, exp = (h >>> 10) & 0x1F, mant = h & 0x3FF;
        double v = exp == 0 ? mant * 0x1p-24 : exp == 31 ? (mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN) : (1024 + mant) * Math.pow(2, exp - 25);
        return (float) (sign == 1 ? -v : v);
    }

    /** The values the GGUF layout defines for these bytes. */
    static float[] dequantize(GgmlType type, byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return switch (type) {
            case F16 -> {
                float[] out = new float[bytes.length / 2];
                for (int i = 0; i < out.length; i++) out[i] = half(b.getShort(2 * i) & 0xFFFF);
                yield out;
            }
            case BF16 -> {
                float[] out = new float[bytes.length / 2];
                for (int i = 0; i < out.length; i++) out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
                yield out;
            }
            case Q8_0 -> {
                float[] out = new float[bytes.length / 34 * 32];
                for (int i = 0; i < out.length; i++) {
                    int block = i / 32;
                    out[i] = bytes[block * 34 + 2 + i % 32] * half(b.getShort(block * 34) & 0xFFFF);
                }
                yield out;
            }
            case Q4_0 -> {
                float[] out = new float[bytes.length / 18 * 32];
                for (int i = 0; i < out.length; i++) {
                    int block = i / 32, j = i % 32;
                    int packed = bytes[block * 18 + 2 + j % 16] & 0xFF;
                    int q = j < 16 ? packed & 0xF : packed >> 4;
                    out[i] = (q - 8) * half(b.getShort(block * 18) & 0xFFFF);
                }
                yield out;
            }
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    @ParameterizedTest
    @ValueSource(ints = {64, 256})
    void alignmentKeyMovesTheData(int alignment) throws IOException {
        TinyLlama m = new TinyLlama(config(true), 13);
        GgufWriter w = GgufWriter.llama(m, GgmlType.F32);
        w.alignment = alignment;
        w.put("general.alignment", alignment);
        Path gguf = w.write(tmp.resolve("a.gguf"));
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals(alignment, f.alignment());
            assertEquals(0, f.dataOffset() % alignment);
        }
        assertArrayEquals(m.embedding, GgufCheckpoint.load(gguf).tokenEmbedding());
    }
}
