package io.qbridge.pipeline;

import io.qbridge.model.llama.Generator;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.Sampler;
import java.util.ArrayList;
import java.util.List;

/**
 * Text that a decoder writes itself, for checkpoints whose tokenizer is not available (e.g. llama2.c's
 * stories260K without its 512-piece {@code tok512.bin}): sequences sampled from the FP32 model at temperature 1
 * from the full distribution (no top-p), each from BOS, with a fixed seed.
 *
 * <p>Perplexity of a quantized model on such samples is {@code exp} of the cross-entropy
 * {@code H(p_fp32) + KL(p_fp32 || p_quantized)} per token: the FP32 row is the model's own entropy and each
 * quantized row shows how far the format moves the model's predictions from FP32's. Calibration on samples
 * drawn with another seed is the "data-free" calibration of LLM-QAT (Liu et al., 2023). Neither is perplexity on
 * human text, and the results say so.
 */
public final class DecoderSamples {
    /** The seeds used by {@code qbridge eval --self-text}: one for the measured text, another for calibration. */
    public static final long TEXT_SEED = 20261123L, CALIBRATION_SEED = 7L;

    /** Draws per wanted sequence before {@link #sample} gives up on a model that keeps ending them at once. */
    static final int MAX_DRAWS_PER_SEQUENCE = 20;

    private DecoderSamples() {}

    /**
     * {@code count} sequences of at most {@code length} tokens (BOS first); a sequence ends early when the model
     * samples BOS (llama2.c's end of a story).
     */
    public static List<int[]> sample(LlamaWeights fp32, int count, int length, long seed) {
        if (count < 1) throw new IllegalArgumentException("count must be >= 1, got " + count);
        if (length < 2 || length > fp32.config().seqLen()) throw new IllegalArgumentException("length must be in [2, " + fp32.config().seqLen() + "], got " + length);
        Sampler sampler = new Sampler(fp32.config().vocabSize(), 1.0f, 1.0f, seed);
        int bos = fp32.config().bosTokenId();
        List<int[]> out = new ArrayList<>(count);
        // a sequence the model ends at once (BOS straight after BOS) has no token to measure and is drawn again; a model
        // that nearly always does so would loop for good, so the draws are bounded
        long maxDraws = MAX_DRAWS_PER_SEQUENCE * (long) count;
        for (long draws = 0; out.size() < count; draws++) {
            if (draws == maxDraws)
                throw new IllegalArgumentException("the model ended " + (draws - out.size()) + " of " + draws + " sampled sequences at their first token "
                        + "(it samples BOS right after BOS): too few self-text sequences (" + out.size() + " of " + count + ")");
            Generator.Result r = new Generator(new LlamaDecoder(fp32, length - 1), sampler).generate(new int[] {bos}, length - 1, t -> {});
            int[] seq = r.tokens().length > length ? java.util.Arrays.copyOf(r.tokens(), length) : r.tokens();
            if (seq.length >= 2) out.add(seq);
        }
        return out;
    }
}
