package io.qbridge.model.bert;

import io.qbridge.compute.MatMul;
import io.qbridge.compute.Parallel;
import io.qbridge.compute.VectorOps;
import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.onnx.OnnxGraph;
import io.qbridge.protocol.onnx.Onnx;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A BERT encoder's FP32 forward pass: embeddings (word + position + token type), LayerNorm, then per layer
 * multi-head self-attention and a GELU feed-forward block, each followed by a residual and LayerNorm.
 *
 * <p>A batch of sentences is packed without padding: all tokens of all sentences form one
 * {@code [tokens][hidden]} matrix, so every {@link Linear} sees one large product, and attention runs per
 * sentence. That is the same arithmetic as a padded batch with an attention mask (masked scores get
 * {@code -FLT_MAX} and softmax weight 0) without the wasted rows.
 */
public final class BertEncoder {
    private final BertConfig config;
    private final float[] wordEmbeddings;
    private final float[] positionEmbeddings;
    private final float[] tokenTypeEmbeddings;
    private final float[] embeddingNormGamma;
    private final float[] embeddingNormBeta;
    private final List<BertLayer> layers;

    public BertEncoder(BertConfig config, float[] wordEmbeddings, float[] positionEmbeddings, float[] tokenTypeEmbeddings,
                       float[] embeddingNormGamma, float[] embeddingNormBeta, List<BertLayer> layers) {
        if (layers.size() != config.layers()) throw new IllegalArgumentException("config says " + config.layers() + " layers, got " + layers.size());
        this.config = config;
        this.wordEmbeddings = wordEmbeddings;
        this.positionEmbeddings = positionEmbeddings;
        this.tokenTypeEmbeddings = tokenTypeEmbeddings;
        this.embeddingNormGamma = embeddingNormGamma;
        this.embeddingNormBeta = embeddingNormBeta;
        this.layers = List.copyOf(layers);
    }

    /**
     * Maps a PyTorch-exported BERT ONNX graph to encoder weights. Linear weights are found through the
     * MatMul nodes that consume them (their initializers have generated names such as
     * {@code onnx::MatMul_1525}); the head count comes from the attention Reshape's constant shape and the
     * LayerNorm epsilon from the graph's own constant.
     */
    public static BertEncoder fromOnnx(OnnxGraph g) {
        long[] wordShape = g.shape("embeddings.word_embeddings.weight");
        if (wordShape.length != 2) throw new ModelFormatException(g.source(), "word embeddings are not a matrix");
        int vocab = Math.toIntExact(wordShape[0]);
        int hidden = Math.toIntExact(wordShape[1]);
        int maxPos = Math.toIntExact(g.shape("embeddings.position_embeddings.weight")[0]);
        int types = Math.toIntExact(g.shape("embeddings.token_type_embeddings.weight")[0]);
        int nLayers = 0;
        while (g.node("/encoder/layer." + nLayers + "/attention/self/query/MatMul").isPresent()) nLayers++;
        if (nLayers == 0) throw new ModelFormatException(g.source(), "no encoder layers found (expected nodes named /encoder/layer.N/attention/self/query/MatMul)");
        int intermediate = Math.toIntExact(g.shape(matMulWeightName(g, "/encoder/layer.0/intermediate/dense/MatMul"))[1]);
        int heads = readHeads(g, hidden);
        float eps = g.scalarFloat(constantInput(g, "/embeddings/LayerNorm/Add"));
        BertConfig cfg = new BertConfig(vocab, hidden, nLayers, heads, intermediate, maxPos, types, eps);

        float[] word = g.floats("embeddings.word_embeddings.weight", vocab, hidden);
        float[] pos = g.floats("embeddings.position_embeddings.weight", maxPos, hidden);
        float[] type = g.floats("embeddings.token_type_embeddings.weight", types, hidden);
        float[] lnG = g.floats("embeddings.LayerNorm.weight", hidden);
        float[] lnB = g.floats("embeddings.LayerNorm.bias", hidden);
        List<BertLayer> layers = new ArrayList<>();
        for (int i = 0; i < nLayers; i++) {
            String p = "encoder.layer." + i + ".";
            String n = "/encoder/layer." + i + "/";
            layers.add(new BertLayer(
                    linear(g, n + "attention/self/query/MatMul", p + "attention.self.query", hidden, hidden),
                    linear(g, n + "attention/self/key/MatMul", p + "attention.self.key", hidden, hidden),
                    linear(g, n + "attention/self/value/MatMul", p + "attention.self.value", hidden, hidden),
                    linear(g, n + "attention/output/dense/MatMul", p + "attention.output.dense", hidden, hidden),
                    g.floats(p + "attention.output.LayerNorm.weight", hidden),
                    g.floats(p + "attention.output.LayerNorm.bias", hidden),
                    linear(g, n + "intermediate/dense/MatMul", p + "intermediate.dense", hidden, intermediate),
                    linear(g, n + "output/dense/MatMul", p + "output.dense", intermediate, hidden),
                    g.floats(p + "output.LayerNorm.weight", hidden),
                    g.floats(p + "output.LayerNorm.bias", hidden)));
        }
        return new BertEncoder(cfg, word, pos, type, lnG, lnB, layers);
    }

    private static Linear linear(OnnxGraph g, String matMulNode, String name, int in, int out) {
        float[] w = g.floats(matMulWeightName(g, matMulNode), in, out);
        float[] b = g.floats(name + ".bias", out);
        return DenseLinear.inOut(name + ".weight", w, in, out, b);
    }

    private static String matMulWeightName(OnnxGraph g, String matMulNode) {
        Onnx.NodeProto node = g.requireNode(matMulNode);
        for (String input : node.getInputList()) if (g.hasInitializer(input)) return input;
        throw new ModelFormatException(g.source(), "node '" + matMulNode + "' has no weight initializer among its inputs " + node.getInputList());
    }

    private static String constantInput(OnnxGraph g, String nodeName) {
        Onnx.NodeProto node = g.requireNode(nodeName);
        for (String input : node.getInputList()) if (input.contains("Constant")) return input;
        throw new ModelFormatException(g.source(), "node '" + nodeName + "' has no constant input");
    }

    /** Reads [heads, headSize] from the constant shape the first attention layer reshapes its keys with. */
    private static int readHeads(OnnxGraph g, int hidden) {
        Onnx.NodeProto concat = g.requireNode("/encoder/layer.0/attention/self/Concat");
        if (concat.getInputCount() != 4) throw new ModelFormatException(g.source(), "attention reshape does not have 4 dims");
        long heads = g.longs(concat.getInput(2))[0];
        long headSize = g.longs(concat.getInput(3))[0];
        if (heads <= 0 || heads * headSize != hidden) {
            throw new ModelFormatException(g.source(), "attention shape " + heads + "x" + headSize + " does not match hidden size " + hidden);
        }
        return (int) heads;
    }

    public BertConfig config() {
        return config;
    }

    public List<BertLayer> layers() {
        return layers;
    }

    /** Every linear layer in forward order. */
    public List<Linear> linears() {
        List<Linear> out = new ArrayList<>();
        for (BertLayer l : layers) out.addAll(l.linears());
        return out;
    }

    /** The same encoder with each linear layer replaced; embeddings and norms are shared, not copied. */
    public BertEncoder mapLinears(UnaryOperator<Linear> f) {
        return new BertEncoder(config, wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embeddingNormGamma,
                embeddingNormBeta, layers.stream().map(l -> l.mapLinears(f)).toList());
    }

    /** The last hidden states of a packed batch: {@code states[offsets[s] + t][hidden]}. */
    public record HiddenStates(float[] states, int[] offsets, int[] lengths, int hidden) {
        public int sentences() {
            return offsets.length;
        }
    }

    /**
     * Runs the encoder on a batch of token-id sequences ({@code [CLS] … [SEP]}, token type 0) and returns
     * the last hidden states.
     */
    public HiddenStates forward(List<int[]> sentences) {
        return forward(sentences, layers.size());
    }

    /**
     * Runs the embeddings and the first {@code layerCount} layers only (calibration captures the inputs of
     * one layer at a time and needs nothing after it).
     */
    public HiddenStates forward(List<int[]> sentences, int layerCount) {
        if (layerCount < 0 || layerCount > layers.size()) throw new IllegalArgumentException("layer count " + layerCount + " outside 0.." + layers.size());
        int hidden = config.hidden();
        int n = sentences.size();
        int[] offsets = new int[n];
        int[] lengths = new int[n];
        int total = 0;
        for (int s = 0; s < n; s++) {
            int[] ids = sentences.get(s);
            if (ids.length == 0) throw new IllegalArgumentException("sentence " + s + " has no tokens");
            if (ids.length > config.maxPositions()) {
                throw new IllegalArgumentException("sentence " + s + " has " + ids.length + " tokens, more than the model's " + config.maxPositions() + " positions");
            }
            offsets[s] = total;
            lengths[s] = ids.length;
            total += ids.length;
        }
        float[] x = new float[total * hidden];
        embed(sentences, offsets, x);

        float[] q = new float[total * hidden], k = new float[total * hidden], v = new float[total * hidden];
        float[] ctx = new float[total * hidden], tmp = new float[total * hidden];
        float[] ffn = new float[total * config.intermediate()];
        for (BertLayer layer : layers.subList(0, layerCount)) {
            layer.query().forward(x, total, q);
            layer.key().forward(x, total, k);
            layer.value().forward(x, total, v);
            attention(q, k, v, ctx, offsets, lengths);
            layer.attentionOutput().forward(ctx, total, tmp);
            addAndNorm(tmp, x, total, layer.attentionNormGamma(), layer.attentionNormBeta()); // x = LN(tmp + x)
            layer.intermediate().forward(x, total, ffn);
            gelu(ffn, total);
            layer.output().forward(ffn, total, tmp);
            addAndNorm(tmp, x, total, layer.outputNormGamma(), layer.outputNormBeta());
        }
        return new HiddenStates(x, offsets, lengths, hidden);
    }

    private void embed(List<int[]> sentences, int[] offsets, float[] x) {
        int hidden = config.hidden();
        Parallel.forRange(sentences.size(), 4, (s0, s1) -> {
            for (int s = s0; s < s1; s++) {
                int[] ids = sentences.get(s);
                for (int t = 0; t < ids.length; t++) {
                    int id = ids[t];
                    if (id < 0 || id >= config.vocabSize()) {
                        throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + config.vocabSize());
                    }
                    int o = (offsets[s] + t) * hidden;
                    System.arraycopy(wordEmbeddings, id * hidden, x, o, hidden);
                    VectorOps.axpy(1f, positionEmbeddings, t * hidden, x, o, hidden);
                    VectorOps.axpy(1f, tokenTypeEmbeddings, 0, x, o, hidden);
                    VectorOps.layerNorm(x, o, hidden, embeddingNormGamma, embeddingNormBeta, config.layerNormEps());
                }
            }
        });
    }

    /**
     * Scaled dot-product attention per sentence and head; rows of other sentences are never attended to.
     * Each head is two small matrix products ({@code Q K^T} and {@code P V}) on gathered contiguous copies,
     * so they run in the outer-product kernel with no horizontal reductions.
     */
    private void attention(float[] q, float[] k, float[] v, float[] ctx, int[] offsets, int[] lengths) {
        int hidden = config.hidden(), heads = config.heads(), d = config.headSize();
        float scale = (float) Math.sqrt(d);
        int maxLen = 0;
        for (int len : lengths) maxLen = Math.max(maxLen, len);
        int cap = padded(maxLen);
        Parallel.forRange(offsets.length * heads, 1, (w0, w1) -> {
            float[] qh = new float[cap * d], kt = new float[d * cap], vh = new float[cap * d];
            float[] scores = new float[cap * cap], out = new float[cap * d];
            for (int w = w0; w < w1; w++) {
                int s = w / heads, h = w % heads;
                int base = offsets[s], len = lengths[s], ho = h * d;
                // Keys and values are zero-padded to whole vectors so both products stay in the vector kernel;
                // padded score columns are set to probability 0 and padded value rows are 0, so they add nothing.
                int lp = padded(len);
                java.util.Arrays.fill(kt, 0, d * lp, 0f);
                java.util.Arrays.fill(vh, len * d, lp * d, 0f);
                for (int t = 0; t < len; t++) {
                    int src = (base + t) * hidden + ho;
                    System.arraycopy(q, src, qh, t * d, d);
                    System.arraycopy(v, src, vh, t * d, d);
                    for (int c = 0; c < d; c++) kt[c * lp + t] = k[src + c];
                }
                MatMul.inOut(qh, len, d, kt, lp, scores);
                for (int i = 0; i < len; i++) {
                    int row = i * lp;
                    VectorOps.divide(scores, row, len, scale); // as the graph: (Q K^T) / sqrt(d)
                    VectorOps.softmax(scores, row, len);
                    java.util.Arrays.fill(scores, row + len, row + lp, 0f);
                }
                MatMul.inOut(scores, len, lp, vh, d, out);
                for (int t = 0; t < len; t++) System.arraycopy(out, t * d, ctx, (base + t) * hidden + ho, d);
            }
        });
    }

    private static int padded(int len) {
        int lanes = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        return (len + lanes - 1) / lanes * lanes;
    }

    /** {@code x = LayerNorm(y + x)} row by row. */
    private void addAndNorm(float[] y, float[] x, int rows, float[] gamma, float[] beta) {
        int hidden = config.hidden();
        Parallel.forRange(rows, 32, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * hidden;
                VectorOps.axpy(1f, y, o, x, o, hidden);
                VectorOps.layerNorm(x, o, hidden, gamma, beta, config.layerNormEps());
            }
        });
    }

    private void gelu(float[] h, int rows) {
        int width = config.intermediate();
        Parallel.forRange(rows, 32, (r0, r1) -> VectorOps.gelu(h, r0 * width, (r1 - r0) * width));
    }

    /** Pools and L2-normalises each sentence: one unit vector per sentence. */
    public static float[][] pool(HiddenStates hs, Pooling pooling) {
        int hidden = hs.hidden();
        float[][] out = new float[hs.sentences()][hidden];
        for (int s = 0; s < hs.sentences(); s++) {
            float[] e = out[s];
            int o = hs.offsets()[s] * hidden;
            if (pooling == Pooling.CLS) {
                System.arraycopy(hs.states(), o, e, 0, hidden);
            } else {
                for (int t = 0; t < hs.lengths()[s]; t++) VectorOps.axpy(1f, hs.states(), o + t * hidden, e, 0, hidden);
                VectorOps.scale(e, 0, hidden, 1f / hs.lengths()[s]);
            }
            double norm = Math.sqrt(VectorOps.dot(e, 0, e, 0, hidden));
            // sentence-transformers' Normalize layer divides by max(norm, 1e-12)
            VectorOps.scale(e, 0, hidden, (float) (1.0 / Math.max(norm, 1e-12)));
        }
        return out;
    }
}
