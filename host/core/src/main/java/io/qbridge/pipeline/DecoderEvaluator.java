package io.qbridge.pipeline;

import io.qbridge.model.Linear;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.tokenizer.TextTokenizer;
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
    /**
     * One table row; {@code perplexity} over {@code predicted} tokens. {@code calibrationError}: the mean over
     * layers of {@code ||X (W - Q)^T|| / ||X W^T||} on each layer's calibration inputs (as the quantized earlier
     * blocks produce them); NaN for fp32 or without calibration sequences.
     */
    public record Row(String recipe, double bitsPerWeight, long packedBytes, double weightSqnrDb, double calibrationError, double perplexity,
                      int predicted, double seconds) {}

    private DecoderEvaluator() {}

    /**
     * What {@code eval} prints for a decoder container: perplexity on {@code tokens} tokens in windows of
     * {@code window} positions, and the size of the packed block layers.
     */
    public record ContainerRow(String recipe, double bitsPerWeight, long packedBytes, int tokens, int window, double perplexity) {}

    /**
     * Perplexity of a decoder container on {@code text} (the host path: the layers as the container packs them,
     * dequantized exactly), with the tokenizer it carries; windows of {@code window} positions from BOS, cut to
     * the model's sequence length. {@code qbridge eval --model x.qbz} and the server's eval job both call this.
     *
     * @throws IllegalArgumentException for a window under 2 positions ("window …") or a text of no tokens ("no tokens …")
     */
    public static ContainerRow evaluateContainer(QuantizedDecoders.Loaded q, TextTokenizer tok, String text, int window) {
        return evaluateContainer(q, q.model(), null, tok, text, window);
    }

    /**
     * As {@link #evaluateContainer(QuantizedDecoders.Loaded, TextTokenizer, String, int)}, with the container's model
     * placed as {@code w}: its layers resident on a device running activation mode {@code mode} ({@code eval --model
     * x.qbz --activations MODE}; the row is named {@code RECIPE:MODE}), or, with a null mode, the host model.
     */
    public static ContainerRow evaluateContainer(QuantizedDecoders.Loaded q, LlamaWeights w, String mode, TextTokenizer tok, String text, int window) {
        int win = Math.min(window, w.config().seqLen());
        if (win < 2) throw new IllegalArgumentException("window must be at least 2");
        int[] ids = tok.encode(text, false, false);
        if (ids.length == 0) throw new IllegalArgumentException("no tokens to measure");
        List<int[]> sequences = windows(w.config().bosTokenId(), ids, win);
        int maxLen = sequences.stream().mapToInt(a -> a.length).max().orElse(2) - 1; // as evaluate sizes its cache
        double ppl = perplexity(new LlamaDecoder(w, Math.max(1, maxLen)), sequences);
        List<QuantizedLayer> blocks = List.copyOf(q.blockLayers().values());
        String name = q.manifest().settings().getOrDefault("recipe", q.manifest().format()) + (mode == null ? "" : ":" + mode);
        return new ContainerRow(name, QualityReport.bitsPerWeight(blocks), QualityReport.packedBytes(blocks), ids.length, win, ppl);
    }

    /** exp(mean NLL) of tokens[i+1] given tokens[0..i], window by window. {@code tokens} must not start with BOS. */
    public static double perplexity(LlamaDecoder decoder, int bos, int[] tokens, int window) {
        return perplexity(decoder, windows(bos, tokens, window));
    }

    /**
     * {@code tokens} cut into sequences of at most {@code window} positions, each starting with BOS, so that every
     * token is predicted exactly once.
     */
    public static List<int[]> windows(int bos, int[] tokens, int window) {
        if (window < 2) throw new IllegalArgumentException("window must hold at least 2 positions");
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start < tokens.length; start += window - 1) {
            int end = Math.min(tokens.length, start + window - 1);
            int[] seq = new int[end - start + 1];
            seq[0] = bos;
            System.arraycopy(tokens, start, seq, 1, end - start);
            out.add(seq);
        }
        return out;
    }

    /** exp(mean NLL) of every token after the first of each sequence, each sequence from an empty KV cache. */
    public static double perplexity(LlamaDecoder decoder, List<int[]> sequences) {
        double nll = 0;
        long predicted = 0;
        for (int[] seq : sequences) {
            if (seq.length > decoder.maxSeqLen() + 1) throw new IllegalArgumentException("a sequence of " + seq.length + " tokens does not fit " + decoder.maxSeqLen() + " positions");
            for (int p = 0; p + 1 < seq.length; p++) {
                float[] logits = decoder.forward(seq[p], p);
                nll -= logSoftmax(logits, seq[p + 1]);
                predicted++;
            }
        }
        if (predicted == 0) throw new IllegalArgumentException("no token to predict");
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
     * Quantizes every transformer-block linear layer of a decoder with an RTN-style recipe (no calibration),
     * in forward order; the classifier is left out (it stays FP32). Calibrated recipes go through
     * {@link DecoderQuantizer#quantize} with calibration sequences.
     */
    public static Map<String, QuantizedLayer> quantizeBlocks(LlamaWeights fp32, QuantRecipe recipe) {
        if (recipe.format() == null) throw new IllegalArgumentException("fp32 is not a quantization recipe");
        if (recipe.needsCalibration()) {
            throw new IllegalArgumentException(recipe.name() + " needs calibration sequences (DecoderQuantizer.quantize), or use " + recipe.format().id() + "@rtn");
        }
        return DecoderQuantizer.quantize(fp32, recipe, List.of(), null).layers();
    }

    /** The row for one recipe ({@code fp32} included) on windows of a token stream; RTN-style recipes only. */
    public static Row evaluate(LlamaWeights fp32, QuantRecipe recipe, int[] tokens, int window) {
        return evaluate(fp32, recipe, windows(fp32.config().bosTokenId(), tokens, window), List.of(), null);
    }

    /**
     * The row for one recipe ({@code fp32} included): perplexity over {@code sequences} (each starting with BOS),
     * the layers quantized with {@code calibration} when the recipe needs it.
     *
     * @param onBlock hears the number of blocks quantized so far (may be null)
     */
    public static Row evaluate(LlamaWeights fp32, QuantRecipe recipe, List<int[]> sequences, List<int[]> calibration, java.util.function.IntConsumer onBlock) {
        return evaluate(fp32, recipe, recipe.name(), sequences, calibration, onBlock, Placement.HOST);
    }

    /**
     * Where a row's quantized layers compute: on the host with their exact dequantized weights ({@link #HOST}), or on a
     * device in an activation mode (the runtime's {@code AcceleratorModels.decoderOnDevice}, the code
     * {@code generate --device} runs). The perplexity arithmetic around it is the same for both.
     */
    @FunctionalInterface
    public interface Placement {
        /** The decoder the row's perplexity is measured with: {@code fp32} with {@code quantized}'s block layers placed. */
        LlamaWeights place(LlamaWeights fp32, DecoderQuantizer.Result quantized);

        Placement HOST = (fp32, quantized) -> quantized.model();
    }

    /**
     * As {@link #evaluate(LlamaWeights, QuantRecipe, List, List, java.util.function.IntConsumer)}, the row named {@code name}
     * and its perplexity measured with the decoder {@code placement} builds from the quantized layers. The weight
     * SQNR and calibration error columns are those of the quantized weights on the host, whatever the placement.
     */
    public static Row evaluate(LlamaWeights fp32, QuantRecipe recipe, String name, List<int[]> sequences, List<int[]> calibration,
                               java.util.function.IntConsumer onBlock, Placement placement) {
        long t0 = System.nanoTime();
        int maxLen = sequences.stream().mapToInt(s -> s.length).max().orElse(2) - 1;
        if (recipe.format() == null) {
            double ppl = perplexity(new LlamaDecoder(fp32, Math.max(1, maxLen)), sequences);
            return new Row("fp32", 32, 0, Double.POSITIVE_INFINITY, Double.NaN, ppl, predicted(sequences), (System.nanoTime() - t0) / 1e9);
        }
        DecoderQuantizer.Result r = DecoderQuantizer.quantize(fp32, recipe, calibration, onBlock);
        List<QuantizedLayer> layers = r.layerList();
        Map<String, float[]> original = new HashMap<>();
        for (LlamaWeights.Layer l : fp32.layers()) for (Linear lin : l.linears()) original.put(lin.name(), lin.weightsOutIn());
        double ppl = perplexity(new LlamaDecoder(placement.place(fp32, r), Math.max(1, maxLen)), sequences);
        double calib = r.calibrationError().isEmpty() ? Double.NaN
                : r.calibrationError().values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        return new Row(name, QualityReport.bitsPerWeight(layers), QualityReport.packedBytes(layers),
                QualityReport.weightSqnrDb(layers, original), calib, ppl, predicted(sequences), (System.nanoTime() - t0) / 1e9);
    }

    private static int predicted(List<int[]> sequences) {
        int n = 0;
        for (int[] s : sequences) n += s.length - 1;
        return n;
    }
}
