package io.qbridge.model.llama;

import io.qbridge.compute.Parallel;
import io.qbridge.compute.SpinTeam;
import io.qbridge.compute.VectorOps;
import io.qbridge.model.Linear;
import java.util.Objects;

/**
 * The LLaMA-2 forward pass as llama2.c's {@code run.c} defines it, with a KV cache: RMSNorm, RoPE on
 * interleaved pairs, grouped-query attention, SwiGLU FFN, residuals, final RMSNorm, classifier. Every matrix
 * product goes through the weights' {@link Linear}s.
 *
 * <p>Two entry points: {@link #forward} pushes one token (decoding) and {@link #forwardPrompt} pushes many
 * positions at once, so each weight matrix is streamed once for the whole prompt. Both write the KV cache
 * the same way and can be mixed. A decoder is one sequence's state: not safe for concurrent use.
 *
 * <p>Speed of the one-token path: when the weights carry the fused q/k/v and w1/w3 views
 * ({@link LlamaWeights.Layer#wqkv()}), a layer makes 4 matrix-vector products instead of 7, i.e. 4 thread
 * fan-outs; the attention heads fan out over the {@link SpinTeam} once the context is long enough to pay for it.
 */
public final class LlamaDecoder {
    /** Attention work (query-key products per token) below which the heads run on the calling thread. */
    private static final int PARALLEL_ATTENTION_WORK = 1 << 15;

    private final LlamaWeights weights;
    /**
     * The blocks, as an array: a {@code List.get} call site compiled for one list class (a two-block model's) deoptimizes
     * for another's, which threw away the JIT warm-up's compiled {@link #forward} at a real model's first token.
     */
    private final LlamaWeights.Layer[] layers;
    private final LlamaConfig c;
    private final int maxSeqLen;
    /** {@code maxSeqLen} rounded up to {@link VectorOps#lanes()}: the key cache's row length and the score rows' stride. */
    private final int seqP;
    private final int dim, kvDim, headSize, hidden, nHeads, kvMul;
    private final float sqrtHeadSize;
    /**
     * Per layer: keys in tiles of L = {@link VectorOps#lanes()} positions, {@code [kvHeads][seqP / L][headSize][L]}
     * (a position's key is a column of its tile), so that one query's scores
     * come out {@link VectorOps#lanes()} positions at a time ({@link VectorOps#dotColumns}, the same rounding as
     * one {@link VectorOps#dot} per position); values {@code [maxSeqLen][kvDim]}.
     */
    private final float[][] keyCache, valueCache;

    // Single-token scratch, reused across calls.
    private final float[] x, xb, xb2, q, k, v, qkv, hb, hb2, h13, att, logits;
    private final float[] ropeCos, ropeSin;
    /** {@link VectorOps#dotColumns}'s scratch, a row per head (heads may run on several threads). */
    private final float[] scoreScratch;

    /** A decoder with room for the model's whole context ({@link LlamaConfig#seqLen()}). */
    public LlamaDecoder(LlamaWeights weights) {
        this(weights, weights.config().seqLen());
    }

    /**
     * A decoder whose KV cache holds {@code maxSeqLen} positions (at most the model's context). The cache takes
     * {@code 2 * nLayers * maxSeqLen * kvDim} floats: cap it for models with long contexts.
     */
    public LlamaDecoder(LlamaWeights weights, int maxSeqLen) {
        this.weights = Objects.requireNonNull(weights);
        this.c = weights.config();
        this.layers = weights.layers().toArray(new LlamaWeights.Layer[0]);
        if (maxSeqLen <= 0 || maxSeqLen > c.seqLen()) {
            throw new IllegalArgumentException("maxSeqLen must be in [1, " + c.seqLen() + "], got " + maxSeqLen);
        }
        this.maxSeqLen = maxSeqLen;
        dim = c.dim();
        kvDim = c.kvDim();
        headSize = c.headSize();
        hidden = c.hiddenDim();
        nHeads = c.nHeads();
        kvMul = c.kvMul();
        sqrtHeadSize = (float) Math.sqrt(headSize);
        int lanes = VectorOps.lanes();
        seqP = (maxSeqLen + lanes - 1) / lanes * lanes;
        keyCache = new float[c.nLayers()][seqP * kvDim];
        valueCache = new float[c.nLayers()][maxSeqLen * kvDim];
        x = new float[dim];
        xb = new float[dim];
        xb2 = new float[dim];
        q = new float[dim];
        k = new float[kvDim];
        v = new float[kvDim];
        qkv = new float[dim + 2 * kvDim];
        hb = new float[hidden];
        hb2 = new float[hidden];
        h13 = new float[2 * hidden];
        att = new float[nHeads * seqP];
        scoreScratch = new float[nHeads * lanes * lanes];
        logits = new float[c.vocabSize()];
        ropeCos = new float[headSize / 2];
        ropeSin = new float[headSize / 2];
    }

    public LlamaConfig config() { return c; }

    public LlamaWeights weights() { return weights; }

    /** Positions the KV cache holds. */
    public int maxSeqLen() { return maxSeqLen; }

    /**
     * Runs {@code token} at position {@code pos} (positions before it must have been run) and returns the
     * logits for the next token. The array is this decoder's buffer: valid until the next call, and the caller
     * may modify it (the {@link Sampler} does).
     */
    public float[] forward(int token, int pos) {
        checkToken(token);
        if (pos < 0 || pos >= maxSeqLen) throw new IllegalArgumentException("position " + pos + " outside [0, " + maxSeqLen + ")");
        System.arraycopy(weights.tokenEmbedding(), token * dim, x, 0, dim);
        ropeTables(pos, ropeCos, ropeSin);
        float eps = c.normEps();
        for (int l = 0; l < c.nLayers(); l++) {
            LlamaWeights.Layer layer = layers[l];
            VectorOps.rmsNorm(xb, 0, x, 0, layer.attnNorm(), 0, dim, eps);
            if (layer.wqkv() != null) {
                layer.wqkv().forward(xb, 1, qkv);
                System.arraycopy(qkv, 0, q, 0, dim);
                System.arraycopy(qkv, dim, k, 0, kvDim);
                System.arraycopy(qkv, dim + kvDim, v, 0, kvDim);
            } else {
                layer.wq().forward(xb, 1, q);
                layer.wk().forward(xb, 1, k);
                layer.wv().forward(xb, 1, v);
            }
            rotate(q, 0, nHeads, ropeCos, ropeSin);
            rotate(k, 0, c.nKvHeads(), ropeCos, ropeSin);
            storeKeys(l, k, 0, pos);
            System.arraycopy(v, 0, valueCache[l], pos * kvDim, kvDim);

            final int layerIndex = l;
            if ((long) (pos + 1) * dim < PARALLEL_ATTENTION_WORK) {
                attend(layerIndex, q, 0, pos, xb, 0, att, seqP, scoreScratch, 0, nHeads);
            } else {
                SpinTeam.shared().forRange(nHeads, 1, (h0, h1) -> attend(layerIndex, q, 0, pos, xb, 0, att, seqP, scoreScratch, h0, h1));
            }
            layer.wo().forward(xb, 1, xb2);
            VectorOps.addInPlace(x, xb2, dim);

            VectorOps.rmsNorm(xb, 0, x, 0, layer.ffnNorm(), 0, dim, eps);
            if (layer.w13() != null) {
                layer.w13().forward(xb, 1, h13);
                siluGate(h13, 0, h13, hidden, hb, 0, hidden);
            } else {
                layer.w1().forward(xb, 1, hb);
                layer.w3().forward(xb, 1, hb2);
                siluGate(hb, 0, hb2, 0, hb, 0, hidden);
            }
            layer.w2().forward(hb, 1, xb);
            VectorOps.addInPlace(x, xb, dim);
        }
        VectorOps.rmsNorm(x, 0, x, 0, weights.finalNorm(), 0, dim, eps);
        weights.classifier().forward(x, 1, logits);
        return logits;
    }

    /**
     * Runs {@code tokens} at positions {@code startPos, startPos + 1, ...} with every matrix product taking all
     * of them as rows at once, and returns the logits after the last one (same buffer as {@link #forward}).
     * Equivalent to calling {@link #forward} for each token in turn.
     */
    public float[] forwardPrompt(int[] tokens, int startPos) {
        int n = tokens.length;
        float[] xs = embedRows(tokens);
        checkPositions(startPos, n);
        for (int l = 0; l < c.nLayers(); l++) forwardBlock(l, xs, n, startPos);
        // Only the last position's logits are needed.
        VectorOps.rmsNorm(x, 0, xs, (n - 1) * dim, weights.finalNorm(), 0, dim, c.normEps());
        weights.classifier().forward(x, 1, logits);
        return logits;
    }

    /** The residual stream before block 0: the embedding rows of {@code tokens}, {@code [n][dim]}. */
    public float[] embedRows(int[] tokens) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("no tokens");
        for (int token : tokens) checkToken(token);
        float[] xs = new float[n * dim];
        for (int t = 0; t < n; t++) System.arraycopy(weights.tokenEmbedding(), tokens[t] * dim, xs, t * dim, dim);
        return xs;
    }

    /**
     * Runs transformer block {@code layer} alone on the residual stream {@code xs} ({@code [n][dim]}, positions
     * {@code startPos ..}), in place, writing that block's KV cache; positions before {@code startPos} must
     * already be in the cache. {@link #forwardPrompt} is {@link #embedRows} then this for every block; block by
     * block calibration (GPTQ) uses it to carry one block's outputs to the next without rerunning the prefix.
     */
    public void forwardBlock(int layer, float[] xs, int n, int startPos) {
        if (layer < 0 || layer >= c.nLayers()) throw new IllegalArgumentException("layer " + layer + " outside [0, " + c.nLayers() + ")");
        if (n <= 0 || xs.length < (long) n * dim) throw new IllegalArgumentException("residual stream of " + xs.length + " floats for " + n + " positions of " + dim);
        checkPositions(startPos, n);
        float[] xbs = new float[n * dim], out = new float[n * dim];
        float[] qs = new float[n * dim], ks = new float[n * kvDim], vs = new float[n * kvDim];
        float[] hbs = new float[n * hidden], hb2s = new float[n * hidden];
        float[][] cos = new float[n][headSize / 2], sin = new float[n][headSize / 2];
        for (int t = 0; t < n; t++) ropeTables(startPos + t, cos[t], sin[t]);
        float eps = c.normEps();
        LlamaWeights.Layer block = layers[layer];
        for (int t = 0; t < n; t++) VectorOps.rmsNorm(xbs, t * dim, xs, t * dim, block.attnNorm(), 0, dim, eps);
        block.wq().forward(xbs, n, qs);
        block.wk().forward(xbs, n, ks);
        block.wv().forward(xbs, n, vs);
        for (int t = 0; t < n; t++) {
            rotate(qs, t * dim, nHeads, cos[t], sin[t]);
            rotate(ks, t * kvDim, c.nKvHeads(), cos[t], sin[t]);
        }
        for (int t = 0; t < n; t++) storeKeys(layer, ks, t * kvDim, startPos + t);
        System.arraycopy(vs, 0, valueCache[layer], startPos * kvDim, n * kvDim);
        // One task per (token, head): the cache rows every task reads were all written above.
        Parallel.forRange(n * nHeads, 1, (i0, i1) -> {
            int lanes = VectorOps.lanes();
            float[] scores = new float[seqP], scratch = new float[lanes * lanes];
            for (int i = i0; i < i1; i++) {
                int t = i / nHeads, h = i % nHeads;
                attend(layer, qs, t * dim, startPos + t, xbs, t * dim, scores, 0, scratch, h, h + 1);
            }
        });
        block.wo().forward(xbs, n, out);
        VectorOps.addInPlace(xs, out, n * dim);

        for (int t = 0; t < n; t++) VectorOps.rmsNorm(xbs, t * dim, xs, t * dim, block.ffnNorm(), 0, dim, eps);
        block.w1().forward(xbs, n, hbs);
        block.w3().forward(xbs, n, hb2s);
        siluGate(hbs, 0, hb2s, 0, hbs, 0, n * hidden);
        block.w2().forward(hbs, n, out);
        VectorOps.addInPlace(xs, out, n * dim);
    }

    private void checkPositions(int startPos, int n) {
        if (startPos < 0 || (long) startPos + n > maxSeqLen) {
            throw new IllegalArgumentException("positions [" + startPos + ", " + ((long) startPos + n) + ") outside [0, " + maxSeqLen + ")");
        }
    }

    /** Writes the key {@code k[ko .. ko + kvDim)} of position {@code pos} as a column of its tile of the cache. */
    private void storeKeys(int layer, float[] k, int ko, int pos) {
        float[] keys = keyCache[layer];
        int lanes = VectorOps.lanes(), tile = pos / lanes * headSize * lanes + pos % lanes;
        for (int g = 0; g < c.nKvHeads(); g++) {
            int o = g * seqP * headSize + tile, ki = ko + g * headSize;
            for (int d = 0; d < headSize; d++) keys[o + d * lanes] = k[ki + d];
        }
    }

    /**
     * Attention of query heads [h0, h1) of the query row at {@code q[qOff]}, position {@code pos}, over cache
     * positions 0..pos; head h's output goes to {@code out[outOff + h * headSize]}. Head h keeps its scores at
     * {@code scores[h * scoreStride]} (room for {@link #seqP} of them) and its {@link VectorOps#dotColumns} scratch at
     * {@code scratch[h * L * L]} when the stride is not 0: a stride of 0 reuses one row when the heads run one after
     * another. Each score is {@code dot(q_h, key_t) / sqrt(headSize)} rounded as {@link VectorOps#dot} rounds it;
     * the scores of positions past {@code pos} up to the next multiple of L are computed from unused cache columns
     * and ignored.
     */
    private void attend(int layer, float[] q, int qOff, int pos, float[] out, int outOff, float[] scores, int scoreStride,
                        float[] scratch, int h0, int h1) {
        float[] keys = keyCache[layer], values = valueCache[layer];
        int lanes = VectorOps.lanes(), cols = (pos + lanes) / lanes * lanes;
        for (int h = h0; h < h1; h++) {
            int qo = qOff + h * headSize;
            int kvo = (h / kvMul) * headSize;
            int so = h * scoreStride;
            VectorOps.dotColumns(q, qo, keys, kvo * seqP, lanes, headSize * lanes, headSize, cols, scores, so, scratch, scoreStride == 0 ? 0 : h * lanes * lanes);
            VectorOps.divide(scores, so, pos + 1, sqrtHeadSize);
            VectorOps.softmax(scores, so, pos + 1);
            VectorOps.weightedRows(scores, so, pos + 1, values, kvo, kvDim, headSize, out, outOff + h * headSize);
        }
    }

    /**
     * The rotation angles of position {@code pos}, as run.c computes them in float:
     * {@code freq = 1 / theta^(2j / headSize)}, angle {@code pos * freq} for pair j of a head.
     */
    private void ropeTables(int pos, float[] cos, float[] sin) {
        for (int j = 0; j < headSize / 2; j++) {
            float freq = 1.0f / (float) Math.pow(c.ropeTheta(), (2 * j) / (float) headSize);
            float angle = pos * freq;
            cos[j] = (float) Math.cos(angle);
            sin[j] = (float) Math.sin(angle);
        }
    }

    /** Rotates each interleaved pair (2j, 2j+1) of {@code heads} heads starting at {@code vec[off]}. */
    private void rotate(float[] vec, int off, int heads, float[] cos, float[] sin) {
        for (int h = 0; h < heads; h++) {
            int o = off + h * headSize;
            for (int j = 0; j < headSize / 2; j++) {
                float v0 = vec[o + 2 * j], v1 = vec[o + 2 * j + 1];
                vec[o + 2 * j] = v0 * cos[j] - v1 * sin[j];
                vec[o + 2 * j + 1] = v0 * sin[j] + v1 * cos[j];
            }
        }
    }

    /** SwiGLU: {@code out[i] = silu(gate[i]) * up[i]}. */
    private static void siluGate(float[] gate, int go, float[] up, int uo, float[] out, int oo, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[go + i];
            out[oo + i] = g * (1.0f / (1.0f + (float) Math.exp(-g))) * up[uo + i];
        }
    }

    private void checkToken(int token) {
        if (token < 0 || token >= c.vocabSize()) throw new IllegalArgumentException("token " + token + " outside [0, " + c.vocabSize() + ")");
    }
}
