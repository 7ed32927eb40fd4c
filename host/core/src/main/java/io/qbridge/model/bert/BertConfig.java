package io.qbridge.model.bert;

/**
 * Hyper-parameters of a BERT encoder. Read from the ONNX graph itself (initializer shapes, the attention
 * Reshape constants, the LayerNorm epsilon), never assumed.
 */
public record BertConfig(int vocabSize, int hidden, int layers, int heads, int intermediate, int maxPositions,
                         int typeVocabSize, float layerNormEps) {
    public BertConfig {
        if (vocabSize <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || intermediate <= 0 || maxPositions <= 0 || typeVocabSize <= 0) {
            throw new IllegalArgumentException("BERT config has a non-positive size: " + this);
        }
        if (hidden % heads != 0) throw new IllegalArgumentException("hidden " + hidden + " is not divisible by heads " + heads);
        if (!(layerNormEps > 0 && layerNormEps < 1e-2)) throw new IllegalArgumentException("implausible LayerNorm epsilon " + layerNormEps);
    }

    public int headSize() {
        return hidden / heads;
    }

    /** Parameters in the encoder (embeddings, all layers), as the tensors hold them. */
    public long parameterCount() {
        long emb = (long) (vocabSize + maxPositions + typeVocabSize) * hidden + 2L * hidden;
        long layer = 4L * (hidden * (long) hidden + hidden) + 2L * hidden * (long) intermediate + intermediate + hidden + 4L * hidden;
        return emb + layers * layer;
    }
}
