package io.qbridge.model.llama;

import io.qbridge.model.Linear;
import io.qbridge.model.gguf.GgufException;
import io.qbridge.model.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A llama.cpp GGUF checkpoint of the LLaMA family ({@code general.architecture = "llama"}), dequantized to FP32
 * on load ({@link GgufFile} reads and validates the file). The config comes from the {@code llama.*} keys
 * ({@code embedding_length}, {@code feed_forward_length}, {@code block_count}, {@code attention.head_count},
 * {@code context_length} and {@code attention.layer_norm_rms_epsilon} required; {@code attention.head_count_kv},
 * {@code rope.freq_base} optional), the vocabulary size from {@code token_embd.weight}, BOS/EOS from
 * {@code tokenizer.ggml.bos_token_id}/{@code eos_token_id}; the classifier is the embedding when there is no
 * {@code output.weight}, as in llama.cpp.
 *
 * <p>RoPE layout: unlike a Hugging Face checkpoint, no rows are permuted here. llama.cpp's converter reverses
 * Hugging Face's q/k permutation when it writes a GGUF ("reverse HF permute back to original pth layout"), because
 * llama.cpp's LLaMA RoPE rotates adjacent pairs, as Meta's and llama2.c's do: {@code attn_q}/{@code attn_k} rows
 * are already in the interleaved layout the decoder uses.
 */
public final class GgufCheckpoint {
    private GgufCheckpoint() {}

    /** Reads and validates the header and the config. */
    public static LlamaConfig readConfig(Path file) throws IOException {
        try (GgufFile f = GgufFile.open(file)) {
            return config(f);
        }
    }

    /** Loads the weights, every tensor dequantized to FP32. */
    public static LlamaWeights load(Path file) throws IOException {
        try (GgufFile f = GgufFile.open(file)) {
            LlamaConfig c = config(f);
            int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), vocab = c.vocabSize();
            checkTensors(f, c); // every tensor is in the file with its shape before anything is allocated for it
            float[] embedding = new float[vocab * dim];
            f.read("token_embd.weight", embedding, 0, dim, vocab);
            List<LlamaWeights.Layer> layers = new ArrayList<>(c.nLayers());
            for (int l = 0; l < c.nLayers(); l++) {
                String p = "blk." + l + ".";
                float[] attnNorm = new float[dim], ffnNorm = new float[dim];
                f.read(p + "attn_norm.weight", attnNorm, 0, dim);
                f.read(p + "ffn_norm.weight", ffnNorm, 0, dim);
                float[] qkv = new float[(dim + 2 * kv) * dim];
                f.read(p + "attn_q.weight", qkv, 0, dim, dim);
                f.read(p + "attn_k.weight", qkv, dim * dim, dim, kv);
                f.read(p + "attn_v.weight", qkv, (dim + kv) * dim, dim, kv);
                float[] wo = new float[dim * dim];
                f.read(p + "attn_output.weight", wo, 0, dim, dim);
                float[] w13 = new float[2 * hidden * dim];
                f.read(p + "ffn_gate.weight", w13, 0, dim, hidden);
                f.read(p + "ffn_up.weight", w13, hidden * dim, dim, hidden);
                float[] w2 = new float[dim * hidden];
                f.read(p + "ffn_down.weight", w2, 0, hidden, dim);
                layers.add(LlamaWeights.denseLayer(c, l, attnNorm, qkv, wo, ffnNorm, w13, w2));
            }
            float[] finalNorm = new float[dim];
            f.read("output_norm.weight", finalNorm, 0, dim);
            Linear classifier;
            if (c.sharedClassifier()) {
                classifier = LlamaWeights.dense("output", embedding, 0, dim, vocab);
            } else {
                float[] out = new float[vocab * dim];
                f.read("output.weight", out, 0, dim, vocab);
                classifier = LlamaWeights.dense("output", out, 0, dim, vocab);
            }
            return new LlamaWeights(c, embedding, layers, finalNorm, classifier);
        }
    }

    private static void checkTensors(GgufFile f, LlamaConfig c) throws GgufException {
        int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), vocab = c.vocabSize();
        f.check("token_embd.weight", dim, vocab);
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "blk." + l + ".";
            f.check(p + "attn_norm.weight", dim);
            f.check(p + "ffn_norm.weight", dim);
            f.check(p + "attn_q.weight", dim, dim);
            f.check(p + "attn_k.weight", dim, kv);
            f.check(p + "attn_v.weight", dim, kv);
            f.check(p + "attn_output.weight", dim, dim);
            f.check(p + "ffn_gate.weight", dim, hidden);
            f.check(p + "ffn_up.weight", dim, hidden);
            f.check(p + "ffn_down.weight", hidden, dim);
        }
        f.check("output_norm.weight", dim);
        if (!c.sharedClassifier()) f.check("output.weight", dim, vocab);
    }

    /** The decoder config of an open GGUF file, or a one-line error naming the key that is missing or wrong. */
    public static LlamaConfig config(GgufFile f) throws IOException {
        Object arch = f.metadata().get("general.architecture");
        if (arch == null) throw error(f, "lacks general.architecture");
        if (!"llama".equals(arch)) throw error(f, "is a " + GgufException.shown(arch) + " model (general.architecture); only llama is supported");
        Object scaling = f.metadata().get("llama.rope.scaling.type");
        if (scaling != null && !"none".equals(scaling)) throw error(f, "uses llama.rope.scaling.type " + GgufException.shown(scaling) + ", which is not supported");
        int dim = intKey(f, "llama.embedding_length", null);
        int heads = intKey(f, "llama.attention.head_count", null);
        int hidden = intKey(f, "llama.feed_forward_length", null);
        int layers = intKey(f, "llama.block_count", null);
        int kvHeads = intKey(f, "llama.attention.head_count_kv", heads);
        int seq = intKey(f, "llama.context_length", null);
        float eps = floatKey(f, "llama.attention.layer_norm_rms_epsilon", null);
        float theta = floatKey(f, "llama.rope.freq_base", LlamaConfig.LLAMA2C_ROPE_THETA);
        GgufFile.TensorInfo emb = f.tensor("token_embd.weight");
        if (emb.dims().length != 2 || emb.dims()[0] != dim || emb.dims()[1] > Integer.MAX_VALUE) {
            throw error(f, "has token_embd.weight of shape " + emb.shape() + ", expected [vocab, " + dim + "]");
        }
        int vocab = (int) emb.dims()[1];
        int declared = intKey(f, "llama.vocab_size", vocab);
        if (declared != vocab) throw error(f, "says llama.vocab_size " + declared + " but token_embd.weight has " + vocab + " rows");
        if (heads > 0 && dim % heads == 0) {
            int ropeDims = intKey(f, "llama.rope.dimension_count", dim / heads);
            if (ropeDims != dim / heads) throw error(f, "rotates " + ropeDims + " of each head's " + dim / heads + " dimensions (llama.rope.dimension_count); only whole heads are supported");
        }
        boolean shared = !f.tensors().containsKey("output.weight");
        int bos = intKey(f, "tokenizer.ggml.bos_token_id", 1), eos = intKey(f, "tokenizer.ggml.eos_token_id", 2);
        try {
            return new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, seq, theta, eps, shared, bos, eos);
        } catch (IllegalArgumentException e) {
            throw error(f, "is not a valid LLaMA config: " + e.getMessage());
        }
    }

    private static GgufException error(GgufFile f, String what) {
        return new GgufException("GGUF file " + f.path() + " " + what);
    }

    private static int intKey(GgufFile f, String key, Integer fallback) throws GgufException {
        Object v = f.metadata().get(key);
        if (v == null) {
            if (fallback != null) return fallback;
            throw error(f, "lacks " + key);
        }
        if (!(v instanceof Long l) || l < 0 || l > Integer.MAX_VALUE) throw error(f, "has a bad " + key + ": " + GgufException.shown(v));
        return (int) (long) l;
    }

    private static float floatKey(GgufFile f, String key, Float fallback) throws GgufException {
        Object v = f.metadata().get(key);
        if (v == null) {
            if (fallback != null) return fallback;
            throw error(f, "lacks " + key);
        }
        if (v instanceof Float x) return x;
        if (v instanceof Double x) return (float) (double) x;
        throw error(f, "has a bad " + key + ": " + GgufException.shown(v));
    }
}
