package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Hugging Face loader: a hand-made HF checkpoint (q/k rows permuted for rotate-half RoPE) must give the
 * same logits as the same weights in llama2.c layout, in every dtype and sharding; broken files must fail
 * with messages naming the file or tensor and what is wrong.
 */
class HfCheckpointTest {
    private static final int[] TOKENS = {1, 5, 60, 7, 7, 33, 2, 66, 0, 12};

    @TempDir
    Path tmp;

    private static float[][] logits(LlamaWeights w) {
        LlamaDecoder d = new LlamaDecoder(w);
        float[][] out = new float[TOKENS.length][];
        for (int pos = 0; pos < TOKENS.length; pos++) out[pos] = d.forward(TOKENS[pos], pos).clone();
        return out;
    }

    @ParameterizedTest(name = "{0} shared={1} shards={2}")
    @CsvSource({"F32,true,1", "F32,false,1", "BF16,true,1", "F16,false,1", "F32,true,3", "BF16,false,4"})
    void sameLogitsAsLlama2cLayout(String dtype, boolean shared, int shards) throws IOException {
        UnaryOperator<Float> round = switch (dtype) {
            case "BF16" -> TinyLlama::toBf16;
            case "F16" -> TinyLlama::toF16;
            default -> UnaryOperator.identity();
        };
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(shared), 7, round);
        Path bin = tmp.resolve("tiny.bin");
        model.writeLlama2c(bin);
        Path hf = tmp.resolve("hf");
        model.writeHf(hf, dtype, shards);

        LlamaWeights fromHf = HfCheckpoint.load(hf);
        LlamaWeights fromBin = Llama2cCheckpoint.load(bin);
        assertEquals(shared, fromHf.config().sharedClassifier());
        assertEquals(fromBin.config().dim(), fromHf.config().dim());
        assertEquals(fromBin.config().nKvHeads(), fromHf.config().nKvHeads());
        // Same values in the same layout, so the same arithmetic. Not bit for bit: the Vector API's lane reductions
        // sum in a different order once the JIT intrinsifies them, so allow float rounding.
        float[][] expected = logits(fromBin), actual = logits(fromHf);
        for (int pos = 0; pos < TOKENS.length; pos++) {
            for (int i = 0; i < expected[pos].length; i++) {
                assertEquals(expected[pos][i], actual[pos][i], 1e-5f * Math.max(1f, Math.abs(expected[pos][i])), "position " + pos + " logit " + i);
            }
        }
    }

    /** Without the q/k permutation the HF file holds different rows: the test above would notice a missing un-permute. */
    @Test
    void unpermutedHfRowsGiveDifferentLogits() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 7);
        Path hf = Files.createDirectories(tmp.resolve("hf"));
        Files.writeString(hf.resolve("config.json"), model.hfConfig().toString());
        SafetensorsWriter.write(hf.resolve("model.safetensors"), model.hfTensors("F32", false));
        Path bin = tmp.resolve("tiny.bin");
        model.writeLlama2c(bin);
        float[][] expected = logits(Llama2cCheckpoint.load(bin)), actual = logits(HfCheckpoint.load(hf));
        // The rows are in a different order, so the logits are far apart, not merely rounded differently.
        float maxDiff = 0;
        for (int i = 0; i < expected[TOKENS.length - 1].length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(expected[TOKENS.length - 1][i] - actual[TOKENS.length - 1][i]));
        }
        assertTrue(maxDiff > 1e-2f, "max logit difference " + maxDiff);
    }

    @Test
    void interleavedRowUndoesTheRotateHalfPermutation() {
        // head size 4: HF rows (half 0: 0, 1; half 1: 2, 3) hold Meta rows 0, 2, 1, 3.
        assertArrayEquals(new int[] {0, 2, 1, 3, 4, 6, 5, 7}, java.util.stream.IntStream.range(0, 8)
                .map(r -> HfCheckpoint.interleavedRow(r, 4)).toArray());
    }

    @Test
    void configDefaultsAndFields() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 1);
        ObjectNode cfg = model.hfConfig();
        cfg.remove("rope_theta");
        cfg.remove("num_key_value_heads");
        cfg.put("rms_norm_eps", 1e-6);
        cfg.putArray("eos_token_id").add(128001).add(128009);
        Path dir = writeConfig(cfg);
        LlamaConfig c = HfCheckpoint.readConfig(dir);
        assertEquals(10000f, c.ropeTheta());
        assertEquals(c.nHeads(), c.nKvHeads(), "num_key_value_heads defaults to num_attention_heads");
        assertEquals(1e-6f, c.normEps());
        assertEquals(128001, c.eosTokenId());
        assertEquals(24, c.seqLen());
    }

    // ---- broken checkpoints ----

    private Path writeConfig(ObjectNode cfg) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("cfg" + System.nanoTime()));
        Files.writeString(dir.resolve("config.json"), cfg.toString());
        return dir;
    }

    private static String failure(Path dir) {
        return assertThrows(CheckpointException.class, () -> HfCheckpoint.load(dir)).getMessage();
    }

    private static void assertMentions(String message, String... words) {
        for (String w : words) assertTrue(message.contains(w), "message lacks '" + w + "': " + message);
    }

    /** A valid single-file F32 checkpoint, then {@code tensors} rewritten by the caller. */
    private Path hfDir(Map<String, SafetensorsWriter.Tensor> tensors, TinyLlama model) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("hf" + System.nanoTime()));
        Files.writeString(dir.resolve("config.json"), model.hfConfig().toString());
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors);
        return dir;
    }

    @Test
    void configProblems() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 1);
        Path noConfig = Files.createDirectories(tmp.resolve("empty"));
        assertMentions(failure(noConfig), "config.json", "does not exist");

        Path malformed = Files.createDirectories(tmp.resolve("malformed"));
        Files.writeString(malformed.resolve("config.json"), "{\"hidden_size\": 32,");
        assertMentions(failure(malformed), "config.json", "malformed JSON");

        ObjectNode missing = model.hfConfig();
        missing.remove("intermediate_size");
        assertMentions(failure(writeConfig(missing)), "lacks intermediate_size");

        ObjectNode scaled = model.hfConfig();
        scaled.putObject("rope_scaling").put("rope_type", "llama3");
        assertMentions(failure(writeConfig(scaled)), "rope_scaling", "not supported");

        ObjectNode badHeads = model.hfConfig();
        badHeads.put("num_key_value_heads", 3);
        assertMentions(failure(writeConfig(badHeads)), "nHeads 4 is not a multiple of nKvHeads 3");

        ObjectNode mistral = model.hfConfig();
        mistral.putArray("architectures").add("MistralForCausalLM");
        assertMentions(failure(writeConfig(mistral)), "not LlamaForCausalLM");

        assertMentions(failure(writeConfig(model.hfConfig())), "neither model.safetensors nor model.safetensors.index.json");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 1);
        var tensors = model.hfTensors("F32", true);
        tensors.remove("model.layers.1.mlp.up_proj.weight");
        assertMentions(failure(hfDir(tensors, model)), "model.layers.1.mlp.up_proj.weight", "missing");

        var untied = new TinyLlama(TinyLlama.smallConfig(false), 1);
        var noHead = untied.hfTensors("F32", true);
        noHead.remove("lm_head.weight");
        assertMentions(failure(hfDir(noHead, untied)), "lm_head.weight", "missing");
    }

    @Test
    void wrongShapeNamesTensorExpectedAndActual() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 1);
        var tensors = model.hfTensors("F32", true);
        // k_proj stored with every head's rows (MHA) where the config says 2 KV heads: [32, 32] instead of [16, 32].
        tensors.put("model.layers.0.self_attn.k_proj.weight", new SafetensorsWriter.Tensor("F32", new long[] {32, 32}, new float[32 * 32]));
        assertMentions(failure(hfDir(tensors, model)), "model.layers.0.self_attn.k_proj.weight", "[32, 32]", "expected [16, 32]");

        var norm = model.hfTensors("F32", true);
        norm.put("model.norm.weight", new SafetensorsWriter.Tensor("F32", new long[] {1, 32}, new float[32]));
        assertMentions(failure(hfDir(norm, model)), "model.norm.weight", "[1, 32]", "expected [32]");
    }

    @Test
    void unsupportedDtypeIsNamed() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 1);
        var tensors = model.hfTensors("F32", true);
        Path dir = hfDir(tensors, model);
        // Rewrite the header's dtype of the final norm to I32 (same 4 bytes per element, so offsets still match).
        ObjectNode header = SafetensorsWriter.header(tensors);
        ((ObjectNode) header.get("model.norm.weight")).put("dtype", "I32");
        SafetensorsWriter.write(dir.resolve("model.safetensors"), bytes(header), SafetensorsWriter.data(tensors));
        assertMentions(failure(dir), "model.norm.weight", "dtype I32", "supported: F32, F16, BF16");
    }

    @Test
    void missingShardFileAndUnlistedTensor() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 1);
        Path dir = tmp.resolve("sharded");
        model.writeHf(dir, "F32", 3);
        Path shard = dir.resolve("model-00002-of-00003.safetensors");
        Files.delete(shard);
        assertMentions(failure(dir), "shard file", "model-00002-of-00003.safetensors", "does not exist");

        model.writeHf(dir, "F32", 3);
        Path index = dir.resolve("model.safetensors.index.json");
        ObjectNode idx = (ObjectNode) new ObjectMapper().readTree(index.toFile());
        ((ObjectNode) idx.get("weight_map")).remove("model.norm.weight");
        Files.writeString(index, idx.toString());
        assertMentions(failure(dir), "model.norm.weight", "does not list it");

        ((ObjectNode) idx.get("weight_map")).put("model.norm.weight", "../elsewhere.safetensors");
        Files.writeString(index, idx.toString());
        assertMentions(failure(dir), "bad shard name");
    }

    @Test
    void corruptSafetensorsFiles() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 1);
        var tensors = model.hfTensors("F32", true);
        Path dir = hfDir(tensors, model);
        Path file = dir.resolve("model.safetensors");
        byte[] good = Files.readAllBytes(file);
        byte[] header = bytes(SafetensorsWriter.header(tensors));
        byte[] data = SafetensorsWriter.data(tensors);

        // Truncated: the last tensor's data runs past the end of the file.
        Files.write(file, Arrays.copyOf(good, good.length - 10));
        assertMentions(failure(dir), "model.norm.weight", "outside", "truncated");

        // Shorter than the 8-byte length.
        Files.write(file, new byte[] {1, 2, 3});
        assertMentions(failure(dir), "truncated", "no header length");

        // A header length beyond the file.
        byte[] badLength = good.clone();
        badLength[0] = (byte) 0xff;
        badLength[3] = 0x7f;
        Files.write(file, badLength);
        assertMentions(failure(dir), "bad header length", String.valueOf(good.length));

        // Malformed JSON in the header.
        byte[] broken = Arrays.copyOf(header, header.length);
        broken[broken.length - 1] = ',';
        SafetensorsWriter.write(file, broken, data);
        assertMentions(failure(dir), "malformed JSON header");

        // Offsets out of the data section.
        ObjectNode outside = SafetensorsWriter.header(tensors);
        ((ObjectNode) outside.get("model.embed_tokens.weight")).putArray("data_offsets").add(0).add(data.length + 4);
        SafetensorsWriter.write(file, bytes(outside), data);
        assertMentions(failure(dir), "model.embed_tokens.weight", "outside the " + data.length + " data bytes");

        // Offsets that disagree with dtype x shape.
        ObjectNode mismatch = SafetensorsWriter.header(tensors);
        ((ObjectNode) mismatch.get("model.norm.weight")).put("dtype", "F16");
        SafetensorsWriter.write(file, bytes(mismatch), data);
        assertMentions(failure(dir), "model.norm.weight", "spanning 128 bytes", "F16 x [32] needs 64");

        // Reversed offsets.
        ObjectNode reversed = SafetensorsWriter.header(tensors);
        ((ObjectNode) reversed.get("model.norm.weight")).putArray("data_offsets").add(64).add(0);
        SafetensorsWriter.write(file, bytes(reversed), data);
        assertMentions(failure(dir), "model.norm.weight", "data_offsets [64, 0]");

        // An entry without shape.
        ObjectNode noShape = SafetensorsWriter.header(tensors);
        ((ObjectNode) noShape.get("model.norm.weight")).remove("shape");
        SafetensorsWriter.write(file, bytes(noShape), data);
        assertMentions(failure(dir), "model.norm.weight", "needs dtype, shape and data_offsets");
    }

    private static byte[] bytes(ObjectNode header) {
        return header.toString().getBytes(StandardCharsets.UTF_8);
    }
}
