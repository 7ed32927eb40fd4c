package io.qbridge.model.llama;

/**
 * The shape and the few scalar hyper-parameters of a LLaMA-family decoder.
 *
 * @param dim              model width (llama2.c {@code dim}, HF {@code hidden_size})
 * @param hiddenDim        FFN width (HF {@code intermediate_size})
 * @param nLayers          decoder blocks
 * @param nHeads           query heads
 * @param nKvHeads         key/value heads; {@code nHeads / nKvHeads} query heads share one (grouped-query attention)
 * @param vocabSize        rows of the embedding and of the classifier
 * @param seqLen           longest sequence the model was trained for (HF {@code max_position_embeddings})
 * @param ropeTheta        RoPE base; llama2.c hard-codes 10000
 * @param normEps          RMSNorm epsilon; llama2.c hard-codes 1e-5
 * @param sharedClassifier whether the classifier is the token embedding (llama2.c: positive vocab_size;
 *                         HF: {@code tie_word_embeddings})
 * @param bosTokenId       beginning-of-sequence id; llama2.c's generation loop stops when it samples it
 * @param eosTokenId       end-of-sequence id (informational for llama2.c checkpoints, where it is 2)
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
                          float ropeTheta, float normEps, boolean sharedClassifier, int bosTokenId, int eosTokenId) {
    /** llama2.c's RoPE base. */
    public static final float LLAMA2C_ROPE_THETA = 10000f;
    /** llama2.c's RMSNorm epsilon. */
    public static final float LLAMA2C_NORM_EPS = 1e-5f;

    /** Upper bounds that keep every per-layer tensor addressable by one Java array and reject garbage headers early. */
    static final int MAX_DIM = 1 << 16, MAX_HIDDEN = 1 << 18, MAX_LAYERS = 1 << 10, MAX_HEADS = 1 << 10,
            MAX_VOCAB = 1 << 22, MAX_SEQ = 1 << 22;

    public LlamaConfig {
        positive("dim", dim, MAX_DIM);
        positive("hiddenDim", hiddenDim, MAX_HIDDEN);
        positive("nLayers", nLayers, MAX_LAYERS);
        positive("nHeads", nHeads, MAX_HEADS);
        positive("nKvHeads", nKvHeads, MAX_HEADS);
        positive("vocabSize", vocabSize, MAX_VOCAB);
        positive("seqLen", seqLen, MAX_SEQ);
        if (dim % nHeads != 0) {
            throw new IllegalArgumentException("dim " + dim + " is not a multiple of nHeads " + nHeads);
        }
        if (nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("nHeads " + nHeads + " is not a multiple of nKvHeads " + nKvHeads);
        }
        if ((dim / nHeads) % 2 != 0) {
            throw new IllegalArgumentException("head size " + dim / nHeads + " is odd; RoPE rotates pairs");
        }
        if (!(ropeTheta > 0) || Float.isInfinite(ropeTheta)) throw new IllegalArgumentException("ropeTheta must be positive, got " + ropeTheta);
        if (!(normEps >= 0) || Float.isInfinite(normEps)) throw new IllegalArgumentException("normEps must be >= 0, got " + normEps);
        // Every Java array is indexed by int: the largest tensors we hold in one array must fit.
        if ((long) vocabSize * dim > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("embedding " + vocabSize + "x" + dim + " does not fit one array");
        }
        if ((dim + 2L * (dim / nHeads) * nKvHeads) * dim > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("attention weights " + dim + "x" + dim + " do not fit one array");
        }
        if ((long) hiddenDim * dim * 2 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("FFN " + hiddenDim + "x" + dim + " does not fit one array");
        }
    }

    /** A llama2.c config: its RoPE base, epsilon and BOS/EOS ids. */
    public static LlamaConfig llama2c(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
                                      boolean sharedClassifier) {
        return new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen,
                LLAMA2C_ROPE_THETA, LLAMA2C_NORM_EPS, sharedClassifier, 1, 2);
    }

    public int headSize() { return dim / nHeads; }

    /** Width of one position's keys (and values): {@code nKvHeads * headSize}. */
    public int kvDim() { return nKvHeads * headSize(); }

    /** Query heads per key/value head. */
    public int kvMul() { return nHeads / nKvHeads; }

    /** FP32 parameters, for reports. */
    public long parameterCount() {
        long perLayer = 2L * dim + (long) dim * dim * 2 + 2L * kvDim() * dim + 3L * hiddenDim * dim;
        return (long) vocabSize * dim * (sharedClassifier ? 1 : 2) + perLayer * nLayers + dim;
    }

    private static void positive(String name, int value, int max) {
        if (value <= 0 || value > max) {
            throw new IllegalArgumentException(name + " must be in [1, " + max + "], got " + value);
        }
    }
}
