package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate} on a GGUF file (F32 tensors, its own SentencePiece-style tokenizer) prints what it prints for
 * the same weights as a llama2.c {@code .bin} with the same pieces in {@code tokenizer.bin}; a corrupt GGUF is one line.
 */
class GgufGenerateCliTest {
    static final int DIM = 32, HIDDEN = 64, LAYERS = 2, HEADS = 4, KV_HEADS = 2, SEQ = 16;

    @Test
    void greedyGenerationMatchesTheLlama2cBin(@TempDir Path dir) throws IOException {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) pieces.add(String.format("<0x%02X>", b));
        pieces.addAll(List.of(" ", " a", "b", " b", "ab"));
        int vocab = pieces.size(), kv = DIM / HEADS * KV_HEADS;
        SplittableRandom rnd = new SplittableRandom(7);
        // llama2.c order: embedding, attn norms, wq, wk, wv, wo, ffn norms, w1, w2, w3, final norm (shared classifier)
        float[] emb = random(rnd, vocab * DIM, 1, 0);
        float[][] attnNorm = new float[LAYERS][], ffnNorm = new float[LAYERS][], wq = new float[LAYERS][], wk = new float[LAYERS][],
                wv = new float[LAYERS][], wo = new float[LAYERS][], w1 = new float[LAYERS][], w2 = new float[LAYERS][], w3 = new float[LAYERS][];
        for (int l = 0; l < LAYERS; l++) {
            attnNorm[l] = random(rnd, DIM, 0.2f, 1);
            ffnNorm[l] = random(rnd, DIM, 0.2f, 1);
            wq[l] = random(rnd, DIM * DIM, 0.3f, 0);
            wk[l] = random(rnd, kv * DIM, 0.3f, 0);
            wv[l] = random(rnd, kv * DIM, 0.3f, 0);
            wo[l] = random(rnd, DIM * DIM, 0.3f, 0);
            w1[l] = random(rnd, HIDDEN * DIM, 0.3f, 0);
            w2[l] = random(rnd, DIM * HIDDEN, 0.2f, 0);
            w3[l] = random(rnd, HIDDEN * DIM, 0.3f, 0);
        }
        float[] finalNorm = random(rnd, DIM, 0.2f, 1);
        float[] scores = new float[vocab];
        for (int i = 259; i < vocab; i++) scores[i] = -i;

        ByteArrayOutputStream bin = new ByteArrayOutputStream();
        ByteBuffer h = le(28);
        for (int v : new int[] {DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, vocab, SEQ}) h.putInt(v);
        bin.writeBytes(h.array());
        floats(bin, emb);
        for (float[][] t : new float[][][] {attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3}) for (float[] a : t) floats(bin, a);
        floats(bin, finalNorm);
        floats(bin, new float[SEQ * DIM / HEADS]); // the obsolete RoPE tables run.c skips
        Path model = Files.write(dir.resolve("m.bin"), bin.toByteArray());
        ByteArrayOutputStream tok = new ByteArrayOutputStream();
        tok.writeBytes(le(4).putInt(8).array());
        for (int i = 0; i < vocab; i++) {
            byte[] p = pieces.get(i).getBytes(StandardCharsets.UTF_8);
            tok.writeBytes(le(8).putFloat(scores[i]).putInt(p.length).array());
            tok.writeBytes(p);
        }
        Files.write(dir.resolve("tokenizer.bin"), tok.toByteArray());

        // the same model as GGUF v3: metadata, tensor infos, data aligned to 32
        ByteArrayOutputStream meta = new ByteArrayOutputStream();
        int kvCount = 0;
        kvCount += kv(meta, "general.architecture", 8, str("llama"));
        kvCount += kv(meta, "llama.context_length", 4, le(4).putInt(SEQ).array());
        kvCount += kv(meta, "llama.embedding_length", 4, le(4).putInt(DIM).array());
        kvCount += kv(meta, "llama.block_count", 4, le(4).putInt(LAYERS).array());
        kvCount += kv(meta, "llama.feed_forward_length", 4, le(4).putInt(HIDDEN).array());
        kvCount += kv(meta, "llama.attention.head_count", 4, le(4).putInt(HEADS).array());
        kvCount += kv(meta, "llama.attention.head_count_kv", 4, le(4).putInt(KV_HEADS).array());
        kvCount += kv(meta, "llama.attention.layer_norm_rms_epsilon", 6, le(4).putFloat(1e-5f).array());
        kvCount += kv(meta, "tokenizer.ggml.model", 8, str("llama"));
        ByteArrayOutputStream arr = new ByteArrayOutputStream();
        arr.writeBytes(le(12).putInt(8).putLong(vocab).array());
        for (String p : pieces) arr.writeBytes(str(p.replace(' ', '\u2581')));
        kvCount += kv(meta, "tokenizer.ggml.tokens", 9, arr.toByteArray());
        arr.reset();
        arr.writeBytes(le(12).putInt(6).putLong(vocab).array());
        for (float s : scores) arr.writeBytes(le(4).putFloat(s).array());
        kvCount += kv(meta, "tokenizer.ggml.scores", 9, arr.toByteArray());

        List<String> names = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        List<float[]> data = new ArrayList<>();
        add(names, shapes, data, "token_embd.weight", emb, DIM, vocab);
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            add(names, shapes, data, p + "attn_norm.weight", attnNorm[l], DIM);
            add(names, shapes, data, p + "attn_q.weight", wq[l], DIM, DIM);
            add(names, shapes, data, p + "attn_k.weight", wk[l], DIM, kv);
            add(names, shapes, data, p + "attn_v.weight", wv[l], DIM, kv);
            add(names, shapes, data, p + "attn_output.weight", wo[l], DIM, DIM);
            add(names, shapes, data, p + "ffn_norm.weight", ffnNorm[l], DIM);
            add(names, shapes, data, p + "ffn_gate.weight", w1[l], DIM, HIDDEN);
            add(names, shapes, data, p + "ffn_down.weight", w2[l], HIDDEN, DIM);
            add(names, shapes, data, p + "ffn_up.weight", w3[l], DIM, HIDDEN);
        }
        add(names, shapes, data, "output_norm.weight", finalNorm, DIM);
        ByteArrayOutputStream g = new ByteArrayOutputStream();
        g.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        g.writeBytes(le(20).putInt(3).putLong(names.size()).putLong(kvCount).array());
        g.writeBytes(meta.toByteArray());
        long offset = 0;
        for (int i = 0; i < names.size(); i++) {
            g.writeBytes(str(names.get(i)));
            g.writeBytes(le(4).putInt(shapes.get(i).length).array());
            for (long d : shapes.get(i)) g.writeBytes(le(8).putLong(d).array());
            g.writeBytes(le(12).putInt(0).putLong(offset).array());
            offset += data.get(i).length * 4L; // F32 tensors of multiples of 32 values stay 32-aligned
        }
        while (g.size() % 32 != 0) g.write(0);
        for (float[] d : data) floats(g, d);
        Path gguf = Files.write(dir.resolve("m.gguf"), g.toByteArray());

        CliTest.Run fromBin = CliTest.run("generate", "--model", model.toString(), "--prompt", "a b", "--steps", "12", "--temperature", "0");
        CliTest.Run fromGguf = CliTest.run("generate", "--model", gguf.toString(), "--prompt", "a b", "--steps", "12", "--temperature", "0");
        assertEquals(0, fromBin.exit(), fromBin.err());
        assertEquals(0, fromGguf.exit(), fromGguf.err());
        assertFalse(fromBin.out().isBlank(), "the .bin generated text");
        assertEquals(fromBin.out(), fromGguf.out());

        // quantize takes the GGUF too: the .qbz carries its tokenizer (written out as tokenizer.bin) and generates
        // what generate --format prints for the GGUF
        Path qbz = dir.resolve("m.qbz");
        CliTest.Run q = CliTest.run("quantize", "--model", gguf.toString(), "--format", "mxint8", "--out", qbz.toString());
        assertEquals(0, q.exit(), q.err());
        CliTest.Run quantized = CliTest.run("generate", "--model", gguf.toString(), "--prompt", "a b", "--steps", "12", "--temperature", "0",
                "--format", "mxint8", "--device", "emulator");
        CliTest.Run fromQbz = CliTest.run("generate", "--model", qbz.toString(), "--prompt", "a b", "--steps", "12", "--temperature", "0", "--device", "emulator");
        assertEquals(0, fromQbz.exit(), fromQbz.err());
        assertEquals(quantized.out(), fromQbz.out());
        assertTrue(CliTest.run("info", qbz.toString()).out().contains("a llama decoder from a gguf checkpoint"));

        byte[] bad = g.toByteArray();
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putLong(8, 1L << 40);
        Path corrupt = Files.write(dir.resolve("bad.gguf"), bad);
        CliTest.Run r = CliTest.run("generate", "--model", corrupt.toString(), "--steps", "4");
        assertEquals(2, r.exit(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("claims 1099511627776 tensor infos"), r.err());
    }

    private static void add(List<String> names, List<long[]> shapes, List<float[]> data, String name, float[] v, long... dims) {
        names.add(name);
        shapes.add(dims);
        data.add(v);
    }

    private static int kv(ByteArrayOutputStream out, String key, int type, byte[] value) {
        out.writeBytes(str(key));
        out.writeBytes(le(4).putInt(type).array());
        out.writeBytes(value);
        return 1;
    }

    private static byte[] str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return le(8 + b.length).putLong(b.length).put(b).array();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void floats(ByteArrayOutputStream out, float[] v) {
        ByteBuffer b = le(v.length * 4);
        for (float x : v) b.putFloat(x);
        out.writeBytes(b.array());
    }

    private static float[] random(SplittableRandom rnd, int n, float scale, float center) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = center + (float) ((rnd.nextDouble() * 2 - 1) * scale);
        return v;
    }
}
