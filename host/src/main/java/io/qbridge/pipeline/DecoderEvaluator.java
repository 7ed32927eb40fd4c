package io.qbridge.pipeline;

import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Perplexity of a LLaMA-family checkpoint on a token sequence, FP32 and with its transformer-block
 * linear layers quantized by a recipe. The classifier stays FP32 (as is usual for weight-only
 * quantization, and because llama2.c checkpoints share it with the embedding table).
 *
 * <p>Long texts are cut into windows of at most {@code window} positions, each starting from BOS with an
 * empty KV cache; the negative log-likelihood of every predicted token is summed in double.
 */
public final class DecoderEvaluator {
    /** One table row; {@code perplexity} over {@code predicted} tokens. */
    public record Row(String recipe, double bitsPerWeight, long packedBytes, double weightSqnrDb, double perplexity, int predicted,
                      double seconds) {}

    private DecoderEvaluator() {}

    /** exp(mean NLL) of tokens[i+1] given tokens[0..i], window by window. {@code tokens} must not start with BOS. */
    public static double perplexity(LlamaDecoder decoder, int bos, int[] tokens, int window) {
        if (window < 2) throw new IllegalArgumentException("window must hold at least 2 positions");
        double nll = 0;
        int predicted = 0;
        for (int start = 0; start < tokens.length; start += window - 1) {
            int end = Math.min(tokens.length, start + window - 1);
            int prev = bos;
            for (int p = 0; p < end - start; p++) {
                float[] logits = decoder.forward(prev, p);
                int next = tokens[start + p];
                nll -= logSoftmax(logits, next);
                predicted++;
                prev = next;
            }
        }
        return Math.exp(nll / predicted);
    }

    /** log(softmax(logits)[index]) in double precision. */
    static double logSoftmax(float[] logits, int index) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        return logits[index] - max - Math.log(sum);
    }

    /**
     * Quantizes every transformer-block linear layer of a decoder with an RTN-style recipe, in forward
     * order; the classifier is left out (it stays FP32).
     */
    public static Map<String, QuantizedLayer> quantizeBlocks(LlamaWeights fp32, QuantRecipe recipe) {
        if (recipe.format() == null) throw new IllegalArgumentException("fp32 is not a quantization recipe");
        if (recipe.needsCalibration()) {
            throw new IllegalArgumentException(recipe.name() + ": GPTQ calibration is implemented for encoders only; use " + recipe.format().id() + "@rtn for decoders");
        }
        Map<String, QuantizedLayer> out = new java.util.LinkedHashMap<>();
        for (LlamaWeights.Layer layer : fp32.layers()) {
            for (Linear lin : layer.linears()) out.put(lin.name(), EncoderQuantizer.quantizeLayer(lin, recipe, null));
        }
        return out;
    }

    /** The row for one recipe ({@code fp32} included). Only RTN-style recipes: decoder calibration is not built yet. */
    public static Row evaluate(LlamaWeights fp32, QuantRecipe recipe, int[] tokens, int window) {
        long t0 = System.nanoTime();
        if (recipe.format() == null) {
            double ppl = perplexity(new LlamaDecoder(fp32, window), fp32.config().bosTokenId(), tokens, window);
            return new Row("fp32", 32, 0, Double.POSITIVE_INFINITY, ppl, tokens.length, (System.nanoTime() - t0) / 1e9);
        }
        Map<String, QuantizedLayer> quantized = quantizeBlocks(fp32, recipe);
        List<QuantizedLayer> layers = new ArrayList<>(quantized.values());
        Map<String, float[]> original = new HashMap<>();
        LlamaWeights q = fp32.mapLinears(lin -> {
            QuantizedLayer ql = quantized.get(lin.name());
            if (ql == null) return lin;
            original.put(lin.name(), lin.weightsOutIn());
            return DenseLinear.outIn(lin.name(), ql.dequantized(), lin.inFeatures(), lin.outFeatures(), lin.bias());
        });
        double ppl = perplexity(new LlamaDecoder(q, window), fp32.config().bosTokenId(), tokens, window);
        return new Row(recipe.name(), QualityReport.bitsPerWeight(layers), QualityReport.packedBytes(layers),
                QualityReport.weightSqnrDb(layers, original), ppl, tokens.length, (System.nanoTime() - t0) / 1e9);
    }
}
