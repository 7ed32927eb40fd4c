package io.qbridge.model.llama;

import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * A decoder's weights. Every projection is a {@link Linear} so that quantized or accelerator
 * implementations replace the arithmetic ({@link #mapLinears}); norms and the embedding stay FP32 arrays.
 * Query/key rows are in llama2.c's layout (RoPE on interleaved pairs) whatever the file format was.
 *
 * @param tokenEmbedding {@code [vocab][dim]} row-major
 * @param finalNorm      {@code [dim]}
 * @param classifier     {@code [vocab][dim]}: logits = classifier(finalNorm(x)); the embedding itself when shared
 */
public record LlamaWeights(LlamaConfig config, float[] tokenEmbedding, List<Layer> layers, float[] finalNorm, Linear classifier) {

    /**
     * One decoder block. {@code wqkv} and {@code w13} are optional fused views over the same memory as
     * {@code wq|wk|wv} (rows stacked in that order) and {@code w1|w3}: one matrix product instead of three
     * (or two) halves the thread fan-outs per token. They are {@code null} when the parts do not share
     * memory, e.g. after {@link #mapLinears}; a decoder moved onto a device gets views that run its parts as one
     * device call ({@code io.qbridge.runtime.AcceleratorModels}).
     *
     * @param attnNorm {@code [dim]} RMSNorm weight before attention
     * @param wq       {@code [dim][dim]}
     * @param wk       {@code [kvDim][dim]}
     * @param wv       {@code [kvDim][dim]}
     * @param wo       {@code [dim][dim]}
     * @param ffnNorm  {@code [dim]} RMSNorm weight before the FFN
     * @param w1       gate {@code [hidden][dim]}
     * @param w2       down {@code [dim][hidden]}
     * @param w3       up {@code [hidden][dim]}
     * @param wqkv     {@code [dim + 2 kvDim][dim]} fused view, or null
     * @param w13      {@code [2 hidden][dim]} fused view, or null
     */
    public record Layer(float[] attnNorm, Linear wq, Linear wk, Linear wv, Linear wo, float[] ffnNorm,
                        Linear w1, Linear w2, Linear w3, Linear wqkv, Linear w13) {
        public Layer {
            Objects.requireNonNull(attnNorm);
            Objects.requireNonNull(ffnNorm);
            Objects.requireNonNull(wq);
            Objects.requireNonNull(wk);
            Objects.requireNonNull(wv);
            Objects.requireNonNull(wo);
            Objects.requireNonNull(w1);
            Objects.requireNonNull(w2);
            Objects.requireNonNull(w3);
        }

        /** The seven projections, in llama2.c's file order. */
        public List<Linear> linears() {
            return List.of(wq, wk, wv, wo, w1, w2, w3);
        }
    }

    public LlamaWeights {
        Objects.requireNonNull(config);
        layers = List.copyOf(layers);
        int dim = config.dim(), kv = config.kvDim(), hidden = config.hiddenDim();
        check("token embedding", tokenEmbedding.length, (long) config.vocabSize() * dim);
        check("final norm", finalNorm.length, dim);
        if (layers.size() != config.nLayers()) {
            throw new IllegalArgumentException("config has " + config.nLayers() + " layers, weights " + layers.size());
        }
        shape(classifier, dim, config.vocabSize());
        for (Layer l : layers) {
            check("attention norm", l.attnNorm.length, dim);
            check("FFN norm", l.ffnNorm.length, dim);
            shape(l.wq, dim, dim);
            shape(l.wk, dim, kv);
            shape(l.wv, dim, kv);
            shape(l.wo, dim, dim);
            shape(l.w1, dim, hidden);
            shape(l.w2, hidden, dim);
            shape(l.w3, dim, hidden);
            if (l.wqkv != null) shape(l.wqkv, dim, dim + 2 * kv);
            if (l.w13 != null) shape(l.w13, dim, 2 * hidden);
        }
    }

    /**
     * Builds a block whose q/k/v and w1/w3 weights each live in one array (rows stacked), with fused views.
     *
     * @param qkv {@code [dim + 2 kvDim][dim]}: wq rows, then wk rows, then wv rows
     * @param w13 {@code [2 hidden][dim]}: w1 rows, then w3 rows
     */
    static Layer denseLayer(LlamaConfig c, int l, float[] attnNorm, float[] qkv, float[] wo, float[] ffnNorm,
                            float[] w13, float[] w2) {
        int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim();
        String p = "layers." + l + ".";
        return new Layer(attnNorm,
                dense(p + "wq", qkv, 0, dim, dim),
                dense(p + "wk", qkv, dim * dim, dim, kv),
                dense(p + "wv", qkv, (dim + kv) * dim, dim, kv),
                dense(p + "wo", wo, 0, dim, dim),
                ffnNorm,
                dense(p + "w1", w13, 0, dim, hidden),
                dense(p + "w2", w2, 0, hidden, dim),
                dense(p + "w3", w13, hidden * dim, dim, hidden),
                dense(p + "wqkv", qkv, 0, dim, dim + 2 * kv),
                dense(p + "w13", w13, 0, dim, 2 * hidden));
    }

    /** The FP32 projection the loaders build: {@code [out][in]} weights at {@code w[offset]}. */
    static Linear dense(String name, float[] w, int offset, int in, int out) {
        return DenseLinear.outIn(name, w, offset, in, out, null);
    }

    /**
     * The same model with every projection replaced by {@code f(projection)} (quantizers, accelerators).
     * The fused views are dropped: they would still multiply by the old weights.
     */
    public LlamaWeights mapLinears(UnaryOperator<Linear> f) {
        List<Layer> mapped = layers.stream().map(l -> new Layer(l.attnNorm, f.apply(l.wq), f.apply(l.wk), f.apply(l.wv),
                f.apply(l.wo), l.ffnNorm, f.apply(l.w1), f.apply(l.w2), f.apply(l.w3), null, null)).toList();
        return new LlamaWeights(config, tokenEmbedding, mapped, finalNorm, f.apply(classifier));
    }

    /** The same model without the fused views: each projection runs on its own. */
    public LlamaWeights withoutFusedViews() {
        return mapLinears(UnaryOperator.identity());
    }

    private static void check(String what, int actual, long expected) {
        if (actual != expected) throw new IllegalArgumentException(what + " has " + actual + " values, expected " + expected);
    }

    private static void shape(Linear lin, int in, int out) {
        if (lin.inFeatures() != in || lin.outFeatures() != out) {
            throw new IllegalArgumentException(lin.name() + " is [" + lin.outFeatures() + "][" + lin.inFeatures()
                    + "], expected [" + out + "][" + in + "]");
        }
    }
}
