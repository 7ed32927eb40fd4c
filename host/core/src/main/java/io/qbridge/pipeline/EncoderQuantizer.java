package io.qbridge.pipeline;

import io.qbridge.format.MicroScopiQOfficial;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.BertLayer;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.quant.Gptq;
import io.qbridge.quant.GptqResult;
import io.qbridge.quant.Quantized;
import io.qbridge.quant.Rtn;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/**
 * Quantizes every linear layer of an encoder with a {@link QuantRecipe}.
 *
 * <p>With a calibrated algorithm (GPTQ, MicroScopiQ) layers are processed transformer block by block, as
 * GPTQ does: the calibration sentences run through the model whose earlier blocks are already quantized,
 * the inputs of block {@code l}'s six linear layers are summarised as Hessians in that one pass, and the
 * six layers are quantized from them. Later blocks therefore see the error of earlier ones.
 */
public final class EncoderQuantizer {
    /** The result: the quantized layers in forward order and the model that computes with them. */
    public record Result(QuantRecipe recipe, List<QuantizedLayer> layers, EncoderModel model, Map<String, String> settings) {}

    private EncoderQuantizer() {}

    /**
     * @param calibration token ids of the calibration sentences (unused for RTN)
     * @param onLayer     hears (layer name, layers done) after each linear layer
     */
    public static Result quantize(EncoderModel fp32, QuantRecipe recipe, List<int[]> calibration, BiConsumer<String, Integer> onLayer) {
        return quantize(fp32, recipe, calibration, onLayer, null);
    }

    /**
     * As {@link #quantize(EncoderModel, QuantRecipe, List, BiConsumer)}; {@code onCalibration} hears one line before
     * each block's calibration pass (the Hessian capture, which takes as long as the block's GPTQ or longer).
     */
    public static Result quantize(EncoderModel fp32, QuantRecipe recipe, List<int[]> calibration, BiConsumer<String, Integer> onLayer,
                                  java.util.function.Consumer<String> onCalibration) {
        if (recipe.format() == null) throw new IllegalArgumentException("fp32 is not a quantization recipe"); // format() refuses simulated recipes
        return run(fp32, recipe, calibration, onLayer, onCalibration, (lin, h) -> quantizeLayer(lin, recipe, h));
    }

    /**
     * A simulated recipe ({@link QuantRecipe#isSimulated()}): the same block-by-block loop, but the layers hold
     * dequantized weights only ({@link QuantizedLayer#packed()} is null); {@code storedBits} is what the scheme
     * would have to store for all layers.
     */
    public record Simulation(Result result, long storedBits, long weights) {
        public double bitsPerWeight() {
            return (double) storedBits / weights;
        }
    }

    public static Simulation simulate(EncoderModel fp32, QuantRecipe recipe, List<int[]> calibration, BiConsumer<String, Integer> onLayer) {
        if (!recipe.isSimulated()) throw new IllegalArgumentException(recipe.name() + " is not a simulated recipe; use quantize");
        long[] bits = new long[2];
        Result r = run(fp32, recipe, calibration, onLayer, null, (lin, h) -> simulateLayer(lin, recipe, h, bits));
        return new Simulation(r, bits[0], bits[1]);
    }

    private static Result run(EncoderModel fp32, QuantRecipe recipe, List<int[]> calibration, BiConsumer<String, Integer> onLayer,
                              java.util.function.Consumer<String> onCalibration, BiFunction<Linear, double[], QuantizedLayer> quantizeLayer) {
        Map<String, QuantizedLayer> done = new LinkedHashMap<>();
        List<BertLayer> blocks = fp32.encoder().layers();
        int count = 0;
        for (int l = 0; l < blocks.size(); l++) {
            if (recipe.needsCalibration() && onCalibration != null)
                onCalibration.accept("block " + (l + 1) + "/" + blocks.size() + ": Hessians over " + calibration.size() + " sentences");
            Map<String, double[]> hessians = recipe.needsCalibration() ? calibrate(fp32, done, l, calibration) : Map.of();
            for (Linear lin : blocks.get(l).linears()) {
                done.put(lin.name(), quantizeLayer.apply(lin, hessians.get(lin.name())));
                if (onLayer != null) onLayer.accept(lin.name(), ++count);
            }
        }
        EncoderModel q = withLayers(fp32, done);
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("recipe", recipe.name());
        settings.put("algorithm", recipe.algorithm().name().toLowerCase());
        if (recipe.needsCalibration()) {
            settings.put("calibration", "europarl-en calibration split, " + calibration.size() + " sentences");
            settings.put("gptq", recipe.gptq().toString());
        }
        return new Result(recipe, List.copyOf(done.values()), q, settings);
    }

    /**
     * Token ids of the first {@code sentences} sentences of the fixed calibration split (every caller that
     * calibrates uses this, so a remote and a local quantization see the same ids).
     */
    public static List<int[]> calibrationIds(EncoderModel fp32, int sentences) {
        int max = io.qbridge.data.EvalCorpus.Split.CALIBRATION.count;
        if (sentences < 1 || sentences > max) throw new IllegalArgumentException("calibration must be between 1 and " + max + " sentences, got " + sentences);
        return fp32.tokenize(io.qbridge.data.EvalCorpus.split(io.qbridge.data.EvalCorpus.Split.CALIBRATION).subList(0, sentences), null);
    }

    static QuantizedLayer quantizeLayer(Linear lin, QuantRecipe recipe, double[] hessian) {
        int n = lin.outFeatures(), k = lin.inFeatures();
        float[] w = lin.weightsOutIn();
        if (recipe.algorithm() == QuantRecipe.Algorithm.GPTQ) {
            if (hessian == null) throw new IllegalStateException(lin.name() + ": no calibration data reached this layer");
            GptqResult r = Gptq.quantize(w, n, k, hessian, recipe.gptq(), recipe.format());
            // r.dequantized() is in input order; the packed image in act-order (if any), with its permutation.
            return new QuantizedLayer(lin.name(), recipe.format().pack(r.tensor()), lin.bias(), r.dequantized(), r.perm());
        }
        // LO-BCQ with per-layer ("local") codebooks: designed on this layer's own blocks, stored in its image.
        Quantized q = recipe.format() instanceof io.qbridge.format.LoBcqFormat l && l.local()
                ? io.qbridge.quant.LoBcqDesign.quantizeLocal(l, w, n, k, io.qbridge.quant.LoBcqDesignConfig.SPEC)
                : Rtn.quantize(recipe.format(), w, n, k);
        return new QuantizedLayer(lin.name(), recipe.format().pack(q.tensor()), lin.bias(), q.dequantized());
    }

    /** A simulated layer: dequantized weights only; adds its stored bits and weights to bits[0], bits[1]. */
    static QuantizedLayer simulateLayer(Linear lin, QuantRecipe recipe, double[] hessian, long[] bits) {
        int n = lin.outFeatures(), k = lin.inFeatures();
        float[] w = lin.weightsOutIn();
        MicroScopiQOfficial sim = recipe.simulated();
        float[] deq;
        long stored;
        if (recipe.algorithm() == QuantRecipe.Algorithm.GPTQ) {
            if (hessian == null) throw new IllegalStateException(lin.name() + ": no calibration data reached this layer");
            MicroScopiQOfficial.Quantizer q = sim.columnQuantizer(n, k);
            deq = Gptq.simulate(w, n, k, hessian, recipe.gptq(), q).dequantized();
            stored = q.storedBits();
        } else {
            MicroScopiQOfficial.Simulated s = sim.rtn(w, n, k);
            deq = s.dequantized();
            stored = s.storedBits();
        }
        bits[0] += stored;
        bits[1] += (long) n * k;
        return new QuantizedLayer(lin.name(), null, lin.bias(), deq);
    }

    /** One pass of the calibration set through blocks 0..l (earlier blocks quantized) recording block l's inputs. */
    private static Map<String, double[]> calibrate(EncoderModel fp32, Map<String, QuantizedLayer> done, int l, List<int[]> calibration) {
        if (calibration.isEmpty()) throw new IllegalArgumentException("GPTQ needs calibration sentences");
        Map<String, HessianRecorder> recorders = new HashMap<>();
        Map<Integer, HessianRecorder.Gram> grams = new HashMap<>();
        String prefix = "encoder.layer." + l + ".";
        List<Linear> blockLinears = fp32.encoder().layers().get(l).linears();
        // query, key and value read the same activations: one Gram for the three
        HessianRecorder.Gram qkv = new HessianRecorder.Gram(blockLinears.get(0).inFeatures());
        EncoderModel probe = fp32.mapLinears(lin -> {
            QuantizedLayer q = done.get(lin.name());
            if (q != null) return q.toHostLinear(lin.outFeatures(), lin.inFeatures());
            if (!lin.name().startsWith(prefix)) return lin;
            int idx = blockLinears.indexOf(lin);
            HessianRecorder.Gram g = idx <= 2 ? qkv : grams.computeIfAbsent(idx, i -> new HessianRecorder.Gram(lin.inFeatures()));
            HessianRecorder r = new HessianRecorder(lin, g);
            recorders.put(lin.name(), r);
            return r;
        });
        int batchTokens = EncoderModel.DEFAULT_BATCH_TOKENS;
        for (int start = 0; start < calibration.size(); ) {
            int end = start, tokens = 0;
            while (end < calibration.size() && (end == start || tokens + calibration.get(end).length <= batchTokens)) tokens += calibration.get(end++).length;
            probe.encoder().forward(calibration.subList(start, end), l + 1);
            start = end;
        }
        Map<String, double[]> out = new HashMap<>();
        recorders.forEach((name, r) -> out.put(name, r.gram().hessian()));
        return out;
    }

    /** The FP32 model with the given layers replaced by their dequantized host versions. */
    public static EncoderModel withLayers(EncoderModel fp32, Map<String, QuantizedLayer> layers) {
        return fp32.mapLinears(lin -> {
            QuantizedLayer q = layers.get(lin.name());
            return q == null ? lin : q.toHostLinear(lin.outFeatures(), lin.inFeatures());
        });
    }

}
