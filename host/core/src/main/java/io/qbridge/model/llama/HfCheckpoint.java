package io.qbridge.model.llama;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.qbridge.json.JsonTrees;
import io.qbridge.model.Linear;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * A Hugging Face {@code LlamaForCausalLM} directory: {@code config.json} plus either {@code model.safetensors}
 * or shards listed by {@code model.safetensors.index.json} ({@code weight_map}: tensor name to shard file).
 * F32, F16 and BF16 tensors are converted to F32 while they are copied.
 *
 * <p>RoPE layout: Hugging Face's conversion from Meta's checkpoints permutes the rows of {@code q_proj} and
 * {@code k_proj} within each head so that rotate-half RoPE (pairing element i with i + headSize/2) computes
 * what Meta's interleaved RoPE (pairing 2i with 2i+1) computed. We undo that permutation while copying, so
 * the rows come out in llama2.c's layout and one decoder (interleaved RoPE) serves both formats:
 * Hugging Face row {@code h*hs + p*hs/2 + i} becomes row {@code h*hs + 2i + p}.
 */
public final class HfCheckpoint {
    private HfCheckpoint() {}

    /** Reads and validates {@code config.json}. */
    public static LlamaConfig readConfig(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        JsonNode root = readJson(file, "config");
        String where = "config " + file;
        if (root.has("architectures") && root.get("architectures").isArray()) {
            boolean llama = false;
            for (JsonNode a : root.get("architectures")) llama |= a.asText().equals("LlamaForCausalLM");
            if (!llama) throw new CheckpointException(where + " is for " + root.get("architectures") + ", not LlamaForCausalLM");
        }
        if (root.hasNonNull("rope_scaling")) {
            throw new CheckpointException(where + " uses rope_scaling " + root.get("rope_scaling") + ", which is not supported");
        }
        if (root.has("hidden_act") && !root.get("hidden_act").asText().equals("silu")) {
            throw new CheckpointException(where + " uses hidden_act " + root.get("hidden_act") + "; only silu is supported");
        }
        for (String bias : List.of("attention_bias", "mlp_bias")) {
            if (root.path(bias).asBoolean(false)) throw new CheckpointException(where + " sets " + bias + ", which is not supported");
        }
        int dim = intField(root, "hidden_size", where, null);
        int heads = intField(root, "num_attention_heads", where, null);
        if (root.hasNonNull("head_dim") && heads > 0 && root.get("head_dim").asInt() * heads != dim) {
            throw new CheckpointException(where + " has head_dim " + root.get("head_dim") + " but hidden_size / num_attention_heads is "
                    + dim / heads + "; only head_dim = hidden_size / num_attention_heads is supported");
        }
        try {
            return new LlamaConfig(dim,
                    intField(root, "intermediate_size", where, null),
                    intField(root, "num_hidden_layers", where, null),
                    heads,
                    intField(root, "num_key_value_heads", where, heads),
                    intField(root, "vocab_size", where, null),
                    intField(root, "max_position_embeddings", where, 2048),
                    (float) floatField(root, "rope_theta", where, 10000.0),
                    (float) floatField(root, "rms_norm_eps", where, 1e-6),
                    root.path("tie_word_embeddings").asBoolean(false), // LlamaConfig's default is untied
                    tokenId(root, "bos_token_id", 1),
                    tokenId(root, "eos_token_id", 2));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(where + " is not a valid LLaMA config: " + e.getMessage(), e);
        }
    }

    /** Loads the directory's weights in llama2.c layout (q/k rows un-permuted). */
    public static LlamaWeights load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new CheckpointException("Hugging Face checkpoint " + dir + " is not a directory");
        LlamaConfig c = readConfig(dir);
        try (Tensors tensors = Tensors.open(dir)) {
            int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), vocab = c.vocabSize(), hs = c.headSize();
            float[] embedding = new float[vocab * dim];
            tensors.copy("model.embed_tokens.weight", vocab, dim, embedding, 0, null);
            IntUnaryOperator unpermute = r -> interleavedRow(r, hs);
            List<LlamaWeights.Layer> layers = new ArrayList<>(c.nLayers());
            for (int l = 0; l < c.nLayers(); l++) {
                String p = "model.layers." + l + ".";
                float[] attnNorm = new float[dim], ffnNorm = new float[dim];
                tensors.copyVector(p + "input_layernorm.weight", dim, attnNorm);
                tensors.copyVector(p + "post_attention_layernorm.weight", dim, ffnNorm);
                float[] qkv = new float[(dim + 2 * kv) * dim];
                tensors.copy(p + "self_attn.q_proj.weight", dim, dim, qkv, 0, unpermute);
                tensors.copy(p + "self_attn.k_proj.weight", kv, dim, qkv, dim * dim, unpermute);
                tensors.copy(p + "self_attn.v_proj.weight", kv, dim, qkv, (dim + kv) * dim, null);
                float[] wo = new float[dim * dim];
                tensors.copy(p + "self_attn.o_proj.weight", dim, dim, wo, 0, null);
                float[] w13 = new float[2 * hidden * dim];
                tensors.copy(p + "mlp.gate_proj.weight", hidden, dim, w13, 0, null);
                tensors.copy(p + "mlp.up_proj.weight", hidden, dim, w13, hidden * dim, null);
                float[] w2 = new float[dim * hidden];
                tensors.copy(p + "mlp.down_proj.weight", dim, hidden, w2, 0, null);
                layers.add(LlamaWeights.denseLayer(c, l, attnNorm, qkv, wo, ffnNorm, w13, w2));
            }
            float[] finalNorm = new float[dim];
            tensors.copyVector("model.norm.weight", dim, finalNorm);
            Linear classifier;
            if (c.sharedClassifier()) {
                classifier = LlamaWeights.dense("lm_head", embedding, 0, dim, vocab);
            } else {
                float[] lmHead = new float[vocab * dim];
                tensors.copy("lm_head.weight", vocab, dim, lmHead, 0, null);
                classifier = LlamaWeights.dense("lm_head", lmHead, 0, dim, vocab);
            }
            return new LlamaWeights(c, embedding, layers, finalNorm, classifier);
        }
    }

    /**
     * Where Hugging Face row {@code r} of a q/k projection goes in the interleaved layout: within a head of
     * size hs, row {@code p*hs/2 + i} (half p, index i) holds what Meta had at {@code 2i + p}.
     */
    static int interleavedRow(int r, int headSize) {
        int head = r / headSize, within = r % headSize, half = headSize / 2;
        return head * headSize + 2 * (within % half) + within / half;
    }

    /** The safetensors files of a directory, tensors looked up by name. */
    private static final class Tensors implements AutoCloseable {
        private final Path dir;
        /** Tensor name to shard file name; null for a single {@code model.safetensors}. */
        private final Map<String, String> weightMap;
        private final Map<String, SafetensorsFile> open = new HashMap<>();

        private Tensors(Path dir, Map<String, String> weightMap) {
            this.dir = dir;
            this.weightMap = weightMap;
        }

        static Tensors open(Path dir) throws IOException {
            if (Files.exists(dir.resolve("model.safetensors"))) return new Tensors(dir, null);
            Path index = dir.resolve("model.safetensors.index.json");
            if (!Files.exists(index)) {
                throw new CheckpointException("Hugging Face checkpoint " + dir + " has neither model.safetensors nor model.safetensors.index.json");
            }
            JsonNode map = readJson(index, "safetensors index").get("weight_map");
            if (map == null || !map.isObject()) throw new CheckpointException("safetensors index " + index + " has no weight_map object");
            Map<String, String> weightMap = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : map.properties()) {
                String shard = e.getValue().asText();
                // Shards live next to the index: refuse paths that would leave the directory.
                if (!e.getValue().isTextual() || shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..")) {
                    throw new CheckpointException("safetensors index " + index + " maps " + e.getKey() + " to a bad shard name " + e.getValue());
                }
                weightMap.put(e.getKey(), shard);
            }
            return new Tensors(dir, weightMap);
        }

        private SafetensorsFile.Entry entry(String name, SafetensorsFile[] fileOut) throws IOException {
            String fileName = weightMap == null ? "model.safetensors" : weightMap.get(name);
            if (fileName == null) {
                throw new CheckpointException("tensor " + name + " is missing: model.safetensors.index.json in " + dir + " does not list it");
            }
            SafetensorsFile f = open.get(fileName);
            if (f == null) {
                Path path = dir.resolve(fileName);
                if (!Files.exists(path)) {
                    throw new CheckpointException("shard file " + path + " (holding tensor " + name + ") does not exist");
                }
                f = SafetensorsFile.open(path);
                open.put(fileName, f);
            }
            SafetensorsFile.Entry e = f.entry(name);
            if (e == null) throw new CheckpointException("tensor " + name + " is missing from " + f.file());
            fileOut[0] = f;
            return e;
        }

        void copy(String name, int rows, int cols, float[] dst, int offset, IntUnaryOperator destRow) throws IOException {
            SafetensorsFile[] f = new SafetensorsFile[1];
            SafetensorsFile.Entry e = entry(name, f);
            if (!Arrays.equals(e.shape(), new long[] {rows, cols})) {
                throw new CheckpointException("tensor " + name + " in " + f[0].file() + " has shape " + e.shapeString()
                        + ", expected [" + rows + ", " + cols + "]");
            }
            f[0].copy(e, rows, cols, dst, offset, destRow);
        }

        void copyVector(String name, int n, float[] dst) throws IOException {
            SafetensorsFile[] f = new SafetensorsFile[1];
            SafetensorsFile.Entry e = entry(name, f);
            if (!Arrays.equals(e.shape(), new long[] {n})) {
                throw new CheckpointException("tensor " + name + " in " + f[0].file() + " has shape " + e.shapeString() + ", expected [" + n + "]");
            }
            f[0].copy(e, 1, n, dst, 0, null);
        }

        @Override
        public void close() throws IOException {
            for (SafetensorsFile f : open.values()) f.close();
        }
    }

    private static JsonNode readJson(Path file, String what) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(what + " file " + file + " does not exist", e);
        }
        try {
            JsonNode root = JsonTrees.parse(bytes, false);
            if (!root.isObject()) throw new CheckpointException(what + " file " + file + " is not a JSON object");
            return root;
        } catch (JsonProcessingException e) {
            throw new CheckpointException(what + " file " + file + " is malformed JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static int intField(JsonNode root, String name, String where, Integer fallback) throws CheckpointException {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            if (fallback != null) return fallback;
            throw new CheckpointException(where + " lacks " + name);
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw new CheckpointException(where + " has a bad " + name + ": " + n);
        return n.asInt();
    }

    private static double floatField(JsonNode root, String name, String where, double fallback) throws CheckpointException {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) return fallback;
        if (!n.isNumber()) throw new CheckpointException(where + " has a bad " + name + ": " + n);
        return n.asDouble();
    }

    /** A token id field; Llama 3 lists several EOS ids, of which we keep the first. */
    private static int tokenId(JsonNode root, String name, int fallback) {
        JsonNode n = root.get(name);
        if (n != null && n.isArray() && !n.isEmpty()) n = n.get(0);
        return n != null && n.canConvertToInt() ? n.asInt() : fallback;
    }
}
