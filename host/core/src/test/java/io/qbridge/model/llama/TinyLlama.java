package io.qbridge.model.llama;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * A small random model held as plain arrays in Meta/llama2.c layout (q/k rows interleaved for RoPE), written
 * out in both formats: a llama2.c {@code .bin} and a Hugging Face directory whose q/k rows are permuted for
 * rotate-half RoPE as Hugging Face's conversion script permutes them.
 */
final class TinyLlama {
    final LlamaConfig config;
    final float[] embedding, finalNorm, classifier;
    final float[][] attnNorm, ffnNorm, wq, wk, wv, wo, w1, w2, w3;

    /** Random weights, each passed through {@code round} (e.g. to values BF16 holds exactly). */
    TinyLlama(LlamaConfig c, long seed, UnaryOperator<Float> round) {
        config = c;
        SplittableRandom rnd = new SplittableRandom(seed);
        int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), layers = c.nLayers(), vocab = c.vocabSize();
        embedding = random(rnd, vocab * dim, 1f, 0f, round);
        classifier = c.sharedClassifier() ? embedding : random(rnd, vocab * dim, 0.3f, 0f, round);
        finalNorm = random(rnd, dim, 0.2f, 1f, round);
        attnNorm = new float[layers][];
        ffnNorm = new float[layers][];
        wq = new float[layers][];
        wk = new float[layers][];
        wv = new float[layers][];
        wo = new float[layers][];
        w1 = new float[layers][];
        w2 = new float[layers][];
        w3 = new float[layers][];
        float s = (float) (1 / Math.sqrt(dim)), sh = (float) (1 / Math.sqrt(hidden));
        for (int l = 0; l < layers; l++) {
            attnNorm[l] = random(rnd, dim, 0.2f, 1f, round);
            ffnNorm[l] = random(rnd, dim, 0.2f, 1f, round);
            wq[l] = random(rnd, dim * dim, 2 * s, 0f, round);
            wk[l] = random(rnd, kv * dim, 2 * s, 0f, round);
            wv[l] = random(rnd, kv * dim, s, 0f, round);
            wo[l] = random(rnd, dim * dim, s, 0f, round);
            w1[l] = random(rnd, hidden * dim, s, 0f, round);
            w2[l] = random(rnd, dim * hidden, sh, 0f, round);
            w3[l] = random(rnd, hidden * dim, s, 0f, round);
        }
    }

    TinyLlama(LlamaConfig c, long seed) {
        this(c, seed, UnaryOperator.identity());
    }

    /** dim 32, hidden 40, 2 layers, 4 heads over 2 KV heads (head size 8), vocab 67, 24 positions. */
    static LlamaConfig smallConfig(boolean shared) {
        return LlamaConfig.llama2c(32, 40, 2, 4, 2, 67, 24, shared);
    }

    static float toBf16(float v) {
        return Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xFFFF0000);
    }

    static float toF16(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    private static float[] random(SplittableRandom rnd, int n, float scale, float center, UnaryOperator<Float> round) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = round.apply((float) (center + (rnd.nextDouble() * 2 - 1) * scale));
        return a;
    }

    /** The llama2.c {@code .bin}: header, tensors of all layers back to back in run.c's order, RoPE tables, wcls. */
    void writeLlama2c(Path file) throws IOException {
        LlamaConfig c = config;
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer h = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.nLayers()).putInt(c.nHeads()).putInt(c.nKvHeads())
                    .putInt(c.sharedClassifier() ? c.vocabSize() : -c.vocabSize()).putInt(c.seqLen());
            out.write(h.array());
            put(out, embedding);
            for (float[][] t : new float[][][] {attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3}) {
                for (float[] layer : t) put(out, layer);
            }
            put(out, finalNorm);
            put(out, new float[c.seqLen() * c.headSize()]); // freq_cis_real and _imag, half each
            if (!c.sharedClassifier()) put(out, classifier);
        }
    }

    /** HF tensor names to tensors, q/k rows permuted for rotate-half unless {@code permute} is false. */
    Map<String, SafetensorsWriter.Tensor> hfTensors(String dtype, boolean permute) {
        LlamaConfig c = config;
        int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim();
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("model.embed_tokens.weight", new SafetensorsWriter.Tensor(dtype, new long[] {c.vocabSize(), dim}, embedding));
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "input_layernorm.weight", new SafetensorsWriter.Tensor(dtype, new long[] {dim}, attnNorm[l]));
            t.put(p + "self_attn.q_proj.weight", new SafetensorsWriter.Tensor(dtype, new long[] {dim, dim},
                    permute ? toRotateHalf(wq[l], dim, dim) : wq[l]));
            t.put(p + "self_attn.k_proj.weight", new SafetensorsWriter.Tensor(dtype, new long[] {kv, dim},
                    permute ? toRotateHalf(wk[l], kv, dim) : wk[l]));
            t.put(p + "self_attn.v_proj.weight", new SafetensorsWriter.Tensor(dtype, new long[] {kv, dim}, wv[l]));
            t.put(p + "self_attn.o_proj.weight", new SafetensorsWriter.Tensor(dtype, new long[] {dim, dim}, wo[l]));
            t.put(p + "post_attention_layernorm.weight", new SafetensorsWriter.Tensor(dtype, new long[] {dim}, ffnNorm[l]));
            t.put(p + "mlp.gate_proj.weight", new SafetensorsWriter.Tensor(dtype, new long[] {hidden, dim}, w1[l]));
            t.put(p + "mlp.up_proj.weight", new SafetensorsWriter.Tensor(dtype, new long[] {hidden, dim}, w3[l]));
            t.put(p + "mlp.down_proj.weight", new SafetensorsWriter.Tensor(dtype, new long[] {dim, hidden}, w2[l]));
        }
        t.put("model.norm.weight", new SafetensorsWriter.Tensor(dtype, new long[] {dim}, finalNorm));
        if (!c.sharedClassifier()) t.put("lm_head.weight", new SafetensorsWriter.Tensor(dtype, new long[] {c.vocabSize(), dim}, classifier));
        return t;
    }

    /** {@code config.json} as Hugging Face writes it for this model. */
    ObjectNode hfConfig() {
        LlamaConfig c = config;
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("model_type", "llama");
        n.put("hidden_size", c.dim());
        n.put("intermediate_size", c.hiddenDim());
        n.put("num_hidden_layers", c.nLayers());
        n.put("num_attention_heads", c.nHeads());
        n.put("num_key_value_heads", c.nKvHeads());
        n.put("vocab_size", c.vocabSize());
        n.put("max_position_embeddings", c.seqLen());
        n.put("rms_norm_eps", c.normEps());
        n.put("rope_theta", c.ropeTheta());
        n.put("tie_word_embeddings", c.sharedClassifier());
        n.put("hidden_act", "silu");
        n.putNull("rope_scaling");
        n.put("bos_token_id", 1);
        n.put("eos_token_id", 2);
        return n;
    }

    /** Writes a Hugging Face directory: config.json and one model.safetensors (or {@code shards} shards). */
    void writeHf(Path dir, String dtype, int shards) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), hfConfig().toPrettyString());
        if (shards <= 1) {
            SafetensorsWriter.write(dir.resolve("model.safetensors"), hfTensors(dtype, true));
        } else {
            SafetensorsWriter.writeSharded(dir, hfTensors(dtype, true), shards);
        }
    }

    /**
     * Meta to Hugging Face, as HF's conversion script does: within each head, interleaved row {@code 2i + p}
     * moves to {@code p * hs/2 + i}.
     */
    private float[] toRotateHalf(float[] w, int rows, int cols) {
        int hs = config.headSize(), half = hs / 2;
        float[] out = new float[w.length];
        for (int r = 0; r < rows; r++) {
            int head = r / hs, within = r % hs, i = within / 2, p = within % 2;
            System.arraycopy(w, r * cols, out, (head * hs + p * half + i) * cols, cols);
        }
        return out;
    }

    private static void put(OutputStream out, float[] values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        out.write(b.array());
    }
}
