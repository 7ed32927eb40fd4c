package io.qbridge.pipeline;

import io.qbridge.data.EvalCorpus;
import io.qbridge.model.Linear;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.tokenizer.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Quantizes the transformer-block linear layers of a LLaMA-family decoder with a {@link QuantRecipe}; the
 * classifier stays FP32 (llama2.c checkpoints share it with the embedding table, and weight-only schemes
 * usually keep it).
 *
 * <p>With a calibrated algorithm (GPTQ, MicroScopiQ's default path, {@code fineq@gptq}) blocks are processed
 * in order, as GPTQ's reference does for LLaMA: the residual stream of every calibration sequence at the input
 * of block {@code l} is kept in memory ({@code sequences x length x dim} floats, one block's worth at a time);
 * block {@code l} runs once in FP32 on it while the inputs of its linear layers are summed into Hessians
 * ({@code 2 X^T X}; q/k/v read one input and share one Hessian, so do w1/w3); its seven layers are quantized
 * from them; then block {@code l} runs again, quantized, to produce the inputs of block {@code l + 1}. Later
 * blocks therefore see the error of earlier ones, and no block runs more than twice.
 */
public final class DecoderQuantizer {
    /** Calibration sequences by default: GPTQ's 128. */
    public static final int DEFAULT_CALIBRATION = 128;

    /**
     * The quantized layers in forward order, the decoder that computes with them (dequantized, on the host),
     * per layer the relative output error on its calibration inputs (empty when no calibration was given), and
     * the settings to record.
     */
    public record Result(QuantRecipe recipe, Map<String, QuantizedLayer> layers, LlamaWeights model, Map<String, Double> calibrationError,
                         Map<String, String> settings) {
        public Result {
            layers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(layers));
            calibrationError = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(calibrationError));
        }

        public List<QuantizedLayer> layerList() {
            return List.copyOf(layers.values());
        }
    }

    /** Sees each layer once it is quantized, with the Hessian of its calibration inputs (null for RTN). */
    interface LayerHook {
        void quantized(Linear fp32, double[] hessian, QuantizedLayer q);
    }

    private DecoderQuantizer() {}

    /**
     * @param calibration token ids of the calibration sequences, each starting with BOS; required by GPTQ-path
     *                    recipes; optional for RTN recipes, which then run block by block too so that each layer's
     *                    calibration error is measured on the inputs the quantized earlier blocks give it
     * @param onBlock     hears the number of blocks done after each block (may be null)
     */
    public static Result quantize(LlamaWeights fp32, QuantRecipe recipe, List<int[]> calibration, IntConsumer onBlock) {
        return quantize(fp32, recipe, calibration, onBlock, (LayerHook) null);
    }

    /**
     * As {@link #quantize(LlamaWeights, QuantRecipe, List, IntConsumer)}; {@code onCalibration} (may be null) hears one
     * line before each block's Hessian capture, as the encoder quantizer says it.
     */
    public static Result quantize(LlamaWeights fp32, QuantRecipe recipe, List<int[]> calibration, IntConsumer onBlock,
                                  java.util.function.Consumer<String> onCalibration) {
        return quantize(fp32, recipe, calibration, onBlock, null, onCalibration);
    }

    static Result quantize(LlamaWeights fp32, QuantRecipe recipe, List<int[]> calibration, IntConsumer onBlock, LayerHook hook) {
        return quantize(fp32, recipe, calibration, onBlock, hook, null);
    }

    private static Result quantize(LlamaWeights fp32, QuantRecipe recipe, List<int[]> calibration, IntConsumer onBlock, LayerHook hook,
                                   java.util.function.Consumer<String> onCalibration) {
        if (recipe.format() == null) throw new IllegalArgumentException("fp32 is not a quantization recipe");
        LlamaWeights plain = fp32.withoutFusedViews();
        Map<String, QuantizedLayer> done = new LinkedHashMap<>();
        Map<String, Double> errors = new LinkedHashMap<>();
        int blocks = plain.config().nLayers();
        if (!recipe.needsCalibration() && (calibration == null || calibration.isEmpty())) {
            for (int l = 0; l < blocks; l++) {
                for (Linear lin : plain.layers().get(l).linears()) {
                    QuantizedLayer q = EncoderQuantizer.quantizeLayer(lin, recipe, null);
                    done.put(lin.name(), q);
                    if (hook != null) hook.quantized(lin, null, q);
                }
                if (onBlock != null) onBlock.accept(l + 1);
            }
        } else {
            checkCalibration(plain, calibration);
            int maxLen = calibration.stream().mapToInt(s -> s.length).max().orElseThrow();
            // The residual stream entering the current block, one array per sequence.
            List<float[]> stream = new ArrayList<>(calibration.size());
            LlamaDecoder embedder = new LlamaDecoder(plain, maxLen);
            for (int[] seq : calibration) stream.add(embedder.embedRows(seq));
            for (int l = 0; l < blocks; l++) {
                if (onCalibration != null) onCalibration.accept("block " + (l + 1) + "/" + blocks + ": Hessians over " + calibration.size() + " sequences");
                Map<String, double[]> hessians = captureHessians(plain, l, stream, calibration, maxLen);
                for (Linear lin : plain.layers().get(l).linears()) {
                    double[] h = hessians.get(lin.name());
                    QuantizedLayer q = EncoderQuantizer.quantizeLayer(lin, recipe, h);
                    done.put(lin.name(), q);
                    errors.put(lin.name(), relativeOutputError(lin.weightsOutIn(), q.dequantized(), lin.outFeatures(), lin.inFeatures(), h));
                    if (hook != null) hook.quantized(lin, h, q);
                }
                if (l + 1 < blocks) {
                    // Carry the stream through the quantized block: block l + 1 sees block l's error.
                    LlamaDecoder quantized = new LlamaDecoder(withLayers(plain, done), maxLen);
                    for (int s = 0; s < stream.size(); s++) quantized.forwardBlock(l, stream.get(s), calibration.get(s).length, 0);
                }
                if (onBlock != null) onBlock.accept(l + 1);
            }
        }
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("recipe", recipe.name());
        settings.put("algorithm", recipe.algorithm().name().toLowerCase());
        if (recipe.needsCalibration()) {
            settings.put("calibration", calibration.size() + " sequences, " + calibration.stream().mapToLong(s -> s.length).sum() + " tokens");
            settings.put("gptq", recipe.gptq().toString());
        }
        return new Result(recipe, done, withLayers(fp32, done), errors, settings);
    }

    /**
     * Runs block {@code l} in FP32 on copies of the residual streams and returns {@code 2 X^T X} of the inputs
     * of each of its seven linear layers, by layer name (q/k/v share one array, w1/w3 another).
     */
    static Map<String, double[]> captureHessians(LlamaWeights plain, int l, List<float[]> stream, List<int[]> calibration, int maxLen) {
        LlamaWeights.Layer block = plain.layers().get(l);
        HessianRecorder.Gram qkv = new HessianRecorder.Gram(block.wq().inFeatures());
        HessianRecorder.Gram o = new HessianRecorder.Gram(block.wo().inFeatures());
        HessianRecorder.Gram gateUp = new HessianRecorder.Gram(block.w1().inFeatures());
        HessianRecorder.Gram down = new HessianRecorder.Gram(block.w2().inFeatures());
        Map<String, HessianRecorder.Gram> byName = new LinkedHashMap<>();
        byName.put(block.wq().name(), qkv);
        byName.put(block.wk().name(), qkv);
        byName.put(block.wv().name(), qkv);
        byName.put(block.wo().name(), o);
        byName.put(block.w1().name(), gateUp);
        byName.put(block.w3().name(), gateUp);
        byName.put(block.w2().name(), down);
        LlamaWeights probe = plain.mapLinears(lin -> {
            HessianRecorder.Gram g = byName.get(lin.name());
            return g == null ? lin : new HessianRecorder(lin, g);
        });
        LlamaDecoder decoder = new LlamaDecoder(probe, maxLen);
        for (int s = 0; s < stream.size(); s++) {
            float[] copy = Arrays.copyOf(stream.get(s), stream.get(s).length);
            decoder.forwardBlock(l, copy, calibration.get(s).length, 0);
        }
        Map<HessianRecorder.Gram, double[]> once = new HashMap<>();
        Map<String, double[]> out = new LinkedHashMap<>();
        byName.forEach((name, g) -> out.put(name, once.computeIfAbsent(g, HessianRecorder.Gram::hessian)));
        return out;
    }

    /**
     * {@code ||X (W - Q)^T||_F / ||X W^T||_F} from {@code H = 2 X^T X}: both norms squared are
     * {@code tr(D H D^T) / 2}, so the activations themselves are not needed.
     */
    static double relativeOutputError(float[] w, float[] q, int n, int k, double[] h) {
        // Per row D_r H D_r^T and W_r H W_r^T (O(N K^2), as GPTQ itself); rows in parallel, summed in row order.
        double[] num = new double[n], den = new double[n];
        io.qbridge.compute.Parallel.forRange(n, Math.max(1, 16384 / k), (from, to) -> {
            double[] d = new double[k], wr = new double[k], hd = new double[k], hw = new double[k];
            for (int r = from; r < to; r++) {
                for (int j = 0; j < k; j++) {
                    wr[j] = w[r * k + j];
                    d[j] = wr[j] - q[r * k + j];
                }
                Arrays.fill(hd, 0);
                Arrays.fill(hw, 0);
                for (int i = 0; i < k; i++) {
                    double di = d[i], wi = wr[i];
                    if (di == 0 && wi == 0) continue;
                    int io = i * k;
                    for (int j = 0; j < k; j++) {
                        hd[j] += di * h[io + j];
                        hw[j] += wi * h[io + j];
                    }
                }
                double a = 0, b = 0;
                for (int j = 0; j < k; j++) {
                    a += d[j] * hd[j];
                    b += wr[j] * hw[j];
                }
                num[r] = a;
                den[r] = b;
            }
        });
        double a = 0, b = 0;
        for (int r = 0; r < n; r++) {
            a += num[r];
            b += den[r];
        }
        return b == 0 ? 0 : Math.sqrt(Math.max(0, a) / b);
    }

    /**
     * Token ids of calibration texts for a decoder: each text encoded with BOS first and no EOS, cut to the
     * model's context; the first {@code sequences} non-empty ones.
     */
    public static List<int[]> calibrationIds(TextTokenizer tok, List<String> texts, int sequences, int seqLen) {
        if (sequences < 1) throw new IllegalArgumentException("calibration needs at least 1 sequence, got " + sequences);
        List<int[]> out = new ArrayList<>();
        for (String t : texts) {
            if (out.size() == sequences) break;
            int[] ids = tok.encode(t, true, false);
            if (ids.length < 2) continue;
            out.add(ids.length > seqLen ? Arrays.copyOf(ids, seqLen) : ids);
        }
        if (out.size() < sequences) throw new IllegalArgumentException("only " + out.size() + " usable calibration texts, " + sequences + " requested");
        return out;
    }

    /** The project's calibration sentences (Europarl, {@link EvalCorpus.Split#CALIBRATION}) as decoder ids. */
    public static List<int[]> calibrationIds(TextTokenizer tok, int sequences, int seqLen) {
        int max = EvalCorpus.Split.CALIBRATION.count;
        if (sequences < 1 || sequences > max) throw new IllegalArgumentException("calibration must be between 1 and " + max + " sentences, got " + sequences);
        return calibrationIds(tok, EvalCorpus.split(EvalCorpus.Split.CALIBRATION), sequences, seqLen);
    }

    /**
     * The classifier (output projection, {@code [vocab][dim]}) quantized by RTN to {@code format}, as llama2.c's
     * {@code runq} and llama.cpp do; {@code generate --classifier-on-device} runs it on the device and
     * {@code quantize --classifier-on-device} stores it packed. The name is the classifier's.
     */
    public static QuantizedLayer quantizeClassifier(LlamaWeights w, io.qbridge.format.QuantFormat format) {
        Linear c = w.classifier();
        int n = c.outFeatures(), k = c.inFeatures();
        io.qbridge.quant.Quantized q = io.qbridge.quant.Rtn.quantize(format, c.weightsOutIn(), n, k);
        return new QuantizedLayer(c.name(), format.pack(q.tensor()), c.bias(), q.dequantized());
    }

    /** The FP32 weights with the given layers replaced by their dequantized host versions (fused views dropped). */
    public static LlamaWeights withLayers(LlamaWeights fp32, Map<String, QuantizedLayer> layers) {
        return fp32.mapLinears(lin -> {
            QuantizedLayer q = layers.get(lin.name());
            return q == null ? lin : q.toHostLinear();
        });
    }

    private static void checkCalibration(LlamaWeights w, List<int[]> calibration) {
        if (calibration == null || calibration.isEmpty()) throw new IllegalArgumentException("GPTQ needs calibration sequences");
        int vocab = w.config().vocabSize(), seqLen = w.config().seqLen();
        for (int[] seq : calibration) {
            if (seq.length == 0 || seq.length > seqLen) throw new IllegalArgumentException("a calibration sequence has " + seq.length + " tokens; 1.." + seqLen + " allowed");
            for (int t : seq) if (t < 0 || t >= vocab) throw new IllegalArgumentException("calibration token " + t + " outside [0, " + vocab + ")");
        }
    }
}
