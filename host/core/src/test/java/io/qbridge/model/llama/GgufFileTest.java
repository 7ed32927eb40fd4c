package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.model.gguf.GgmlType;
import io.qbridge.model.gguf.GgufException;
import io.qbridge.model.gguf.GgufFile;
import io.qbridge.model.gguf.GgufTokenizer;
import io.qbridge.tokenizer.Llama2cTokenizer;
import io.qbridge.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GGUF parser: metadata of every kind read back, and broken files refused with one line naming the problem. */
class GgufFileTest {
    @TempDir
    Path tmp;

    @Test
    void metadataOfEveryKindReadsBack() throws IOException {
        GgufWriter w = new GgufWriter().put("u32", 7).put("u64", -3L).put("f32", 1.5f).put("f64", 2.25).put("yes", true)
                .put("s", "héllo").put("strings", new String[] {"a", "", "▁b"}).put("floats", new float[] {-1f, 0.5f})
                .put("ints", new int[] {-2, 9});
        w.tensor("x", GgmlType.F32, new float[] {1, 2, 3, 4}, 4);
        try (GgufFile f = GgufFile.open(w.write(tmp.resolve("m.gguf")))) {
            Map<String, Object> m = f.metadata();
            assertEquals(List.of("u32", "u64", "f32", "f64", "yes", "s", "strings", "floats", "ints"), List.copyOf(m.keySet()));
            assertEquals(7L, m.get("u32"));
            assertEquals(-3L, m.get("u64"));
            assertEquals(1.5f, m.get("f32"));
            assertEquals(2.25, m.get("f64"));
            assertEquals(true, m.get("yes"));
            assertEquals("héllo", m.get("s"));
            assertEquals(List.of("a", "", "▁b"), m.get("strings"));
            assertEquals(List.of(-1f, 0.5f), m.get("floats"));
            assertEquals(List.of(-2L, 9L), m.get("ints"));
            assertEquals(3, f.version());
            float[] x = new float[4];
            f.read("x", x, 0, 4);
            assertArrayEquals(new float[] {1, 2, 3, 4}, x);
            GgufException e = assertThrows(GgufException.class, () -> f.read("x", x, 0, 2, 2));
            assertTrue(e.getMessage().contains("of shape [4], expected [2, 2]"), e.getMessage());
        }
    }

    private Path model() throws IOException {
        return GgufWriter.llama(new TinyLlama(GgufCheckpointTest.config(true), 5), GgmlType.Q8_0).write(tmp.resolve("good.gguf"));
    }

    private Path patched(Path src, Consumer<ByteBuffer> patch) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(src)).order(ByteOrder.LITTLE_ENDIAN);
        patch.accept(b);
        return Files.write(tmp.resolve("bad.gguf"), b.array());
    }

    private Path truncated(Path src, int bytes) throws IOException {
        return Files.write(tmp.resolve("short.gguf"), Arrays.copyOf(Files.readAllBytes(src), bytes));
    }

    /** The load fails with one GgufException line naming the file and containing {@code expected}. */
    private static void refused(Path file, String expected) {
        GgufException e = assertThrows(GgufException.class, () -> GgufCheckpoint.load(file));
        String msg = e.getMessage();
        assertTrue(msg.contains(file.toString()), msg);
        assertTrue(msg.contains(expected), msg);
        assertFalse(msg.contains("\n"), msg);
    }

    @Test
    void brokenFilesGetOneLine() throws IOException {
        Path good = model();
        assertEquals(GgufCheckpointTest.config(true), GgufCheckpoint.load(good).config());
        long size = Files.size(good);
        assertEquals(GgufCheckpointTest.config(true), GgufCheckpoint.load(patched(good, b -> b.putInt(4, 2))).config(), "version 2 has the same layout");
        refused(patched(good, b -> b.put(0, (byte) 'X')), "bad magic");
        refused(patched(good, b -> b.putInt(4, 1)), "version 1, which is not supported");
        refused(truncated(good, 12), "truncated");
        refused(truncated(good, 3), "truncated");
        refused(patched(good, b -> b.putLong(8, 1L << 40)), "claims 1099511627776 tensor infos");
        refused(patched(good, b -> b.putLong(16, 1L << 40)), "claims 1099511627776 metadata key/values");
        refused(patched(good, b -> b.putLong(24, 1L << 40)), "of 1099511627776 bytes at byte 24, past the end of the file");
        refused(patched(good, b -> b.putLong(24, -1L)), "past the end of the file");
        refused(truncated(good, (int) size - 4), "ends past the end of the file");
        refused(patched(good, b -> b.put(0, (byte) 'G')).resolveSibling("none.gguf"), "does not exist");
    }

    @Test
    void badTensorsAndMissingKeysGetOneLine() throws IOException {
        // one tensor "x", no metadata: its type is at 24 + (8 + 1) + 4 + 8 = 45
        Path one = new GgufWriter().tensor("x", GgmlType.F32, new float[32], 32).write(tmp.resolve("one.gguf"));
        GgufException e = assertThrows(GgufException.class, () -> GgufFile.open(patched(one, b -> b.putInt(45, 99))));
        assertTrue(e.getMessage().contains("unknown or unsupported ggml type 99"), e.getMessage());
        e = assertThrows(GgufException.class, () -> GgufFile.open(patched(one, b -> b.putLong(37, 1L << 50))));
        assertTrue(e.getMessage().contains("ends past the end of the file"), e.getMessage());
        e = assertThrows(GgufException.class, () -> GgufFile.open(patched(one, b -> b.putInt(45, 12))));
        assertTrue(e.getMessage().contains("row length 32 is not a multiple of its block size 256"), e.getMessage());
        // a known type we do not dequantize: refused when the tensor is read, naming it
        Path k = new GgufWriter().tensor("k", GgmlType.F32, new float[256], 256).write(tmp.resolve("k.gguf"));
        try (GgufFile f = GgufFile.open(patched(k, b -> b.putInt(45, 12)))) {
            e = assertThrows(GgufException.class, () -> f.read("k", new float[256], 0, 256));
            assertTrue(e.getMessage().contains("tensor k of type Q4_K, which is not supported"), e.getMessage());
        }
        // an array of 2^40 int32: its count is at 24 + (8 + 1) + 4 + 4 = 41
        Path arr = new GgufWriter().put("a", new int[] {1, 2}).write(tmp.resolve("arr.gguf"));
        e = assertThrows(GgufException.class, () -> GgufFile.open(patched(arr, b -> b.putLong(41, 1L << 40))));
        assertTrue(e.getMessage().contains("claims 1099511627776 elements in metadata array a"), e.getMessage());

        GgufWriter w = GgufWriter.llama(new TinyLlama(GgufCheckpointTest.config(true), 5), GgmlType.F32);
        w.metadata.remove("llama.block_count");
        refused(w.write(tmp.resolve("nokey.gguf")), "lacks llama.block_count");
        w = GgufWriter.llama(new TinyLlama(GgufCheckpointTest.config(true), 5), GgmlType.F32);
        w.put("general.architecture", "gpt2");
        refused(w.write(tmp.resolve("arch.gguf")), "only llama is supported");
        w = GgufWriter.llama(new TinyLlama(GgufCheckpointTest.config(true), 5), GgmlType.F32);
        w.tensors.removeIf(t -> t.name().equals("blk.1.ffn_up.weight"));
        refused(w.write(tmp.resolve("notensor.gguf")), "lacks tensor blk.1.ffn_up.weight");
    }

    /** The fuzz seed is a whole model of every dequantized type, so the fuzzer starts from a file that loads. */
    @Test
    void fuzzSeedLoadsWithItsTokenizer() throws Exception {
        Path seed = Path.of(getClass().getResource("FileParsersFuzzTestInputs/gguf/tiny-mixed.gguf").toURI());
        LlamaWeights w = GgufCheckpoint.load(seed);
        assertEquals(261, w.config().vocabSize());
        try (GgufFile f = GgufFile.open(seed)) {
            assertEquals(java.util.Set.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0),
                    java.util.EnumSet.copyOf(f.tensors().values().stream().map(GgufFile.TensorInfo::type).toList()));
            // "a" is no piece of this vocabulary: the dummy-prefix space, then the byte piece <0x61> (3 + 0x61)
            assertArrayEquals(new int[] {1, 259, 3 + 0x61}, GgufTokenizer.load(f, 261).encode("a", true, false));
        }
    }

    @Test
    void sentencePieceTokenizerIsLlama2csForTheSameTable() throws IOException {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) tokens.add(String.format("<0x%02X>", b));
        tokens.addAll(List.of("▁", "a", "b", "▁a", "▁ab", "c"));
        float[] scores = new float[tokens.size()];
        for (int i = 0; i < scores.length; i++) scores[i] = i < 259 ? 0 : -i;
        scores[tokens.indexOf("▁ab")] = 5;
        Path file = new GgufWriter().put("tokenizer.ggml.model", "llama").put("tokenizer.ggml.tokens", tokens.toArray(String[]::new))
                .put("tokenizer.ggml.scores", scores).put("tokenizer.ggml.bos_token_id", 1).put("tokenizer.ggml.eos_token_id", 2)
                .write(tmp.resolve("tok.gguf"));
        // the same table as llama2.c's tokenizer.bin, written by hand
        ByteBuffer bin = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN).putInt(8);
        for (int i = 0; i < tokens.size(); i++) {
            byte[] piece = tokens.get(i).replace("▁", " ").getBytes(StandardCharsets.UTF_8);
            bin.putFloat(scores[i]).putInt(piece.length).put(piece);
        }
        Llama2cTokenizer reference = Llama2cTokenizer.parse(bin.flip(), tokens.size(), "ref");
        try (GgufFile f = GgufFile.open(file)) {
            TextTokenizer tok = GgufTokenizer.load(f, tokens.size());
            for (String text : List.of("ab", "a b ab", "abc", "zé\n")) {
                assertArrayEquals(reference.encode(text, true, false), tok.encode(text, true, false), text);
            }
            assertArrayEquals(new int[] {1, tokens.indexOf("▁ab")}, tok.encode("ab", true, false));
            GgufException e = assertThrows(GgufException.class, () -> GgufTokenizer.load(f, tokens.size() - 1));
            assertTrue(e.getMessage().contains("does not fit the model"), e.getMessage());
        }
    }

    @Test
    void byteLevelBpeTokenizerMergesByRank() throws IOException {
        String[] tokens = {"a", "b", "Ġ", "ab", "Ġab", "<s>"};
        Path file = new GgufWriter().put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.tokens", tokens)
                .put("tokenizer.ggml.merges", new String[] {"a b", "Ġ ab"}).put("tokenizer.ggml.token_type", new int[] {1, 1, 1, 1, 1, 3})
                .put("tokenizer.ggml.bos_token_id", 5).write(tmp.resolve("bpe.gguf"));
        try (GgufFile f = GgufFile.open(file)) {
            TextTokenizer tok = GgufTokenizer.load(f, 6);
            assertArrayEquals(new int[] {5, 3, 4}, tok.encode("ab ab", true, false));
            assertArrayEquals(new int[] {0, 2, 1}, tok.encode("a b", false, false));
            assertEquals("ab ab", tok.decode(new int[] {3, 4}));
        }
        for (String pre : List.of("gpt2", "llama-bpe")) {
            Path p = new GgufWriter().put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.tokens", tokens)
                    .put("tokenizer.ggml.merges", new String[] {"a b", "Ġ ab"}).put("tokenizer.ggml.pre", pre).write(tmp.resolve(pre + ".gguf"));
            try (GgufFile f = GgufFile.open(p)) {
                assertArrayEquals(new int[] {3, 4}, GgufTokenizer.load(f, 6).encode("ab ab", false, false), pre);
            }
        }
        Path qwen = new GgufWriter().put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.tokens", tokens)
                .put("tokenizer.ggml.merges", new String[] {"a b"}).put("tokenizer.ggml.pre", "qwen2").write(tmp.resolve("qwen.gguf"));
        try (GgufFile f = GgufFile.open(qwen)) {
            GgufException e = assertThrows(GgufException.class, () -> GgufTokenizer.load(f, 6));
            assertTrue(e.getMessage().contains("tokenizer.ggml.pre qwen2; only default, gpt2 and llama-bpe are supported"), e.getMessage());
        }
    }
}
