package io.qbridge.pipeline;

import io.qbridge.data.EvalCorpus;
import io.qbridge.model.ForwardingLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Runs {@link QualityReport}'s metrics for a list of recipes on one encoder, against one FP32 reference
 * computed once: calibration, held-out and retrieval sentences come from {@link EvalCorpus}'s fixed splits.
 */
public final class EncoderEvaluator {
    /** One table row. {@code layerOutputError} is NaN for fp32. */
    public record Row(String recipe, double bitsPerWeight, long packedBytes, double weightSqnrDb, double layerOutputError,
                      double meanCosine, double recallAt10, double quantizeSeconds) {}

    /** Sizes of the evaluation sets (the defaults are the issue's: 1,000 held-out, 1,000 retrieval). */
    public record Sets(int calibration, int heldOut, int retrieval, int layerProbe) {
        public static final Sets DEFAULT = new Sets(128, 1000, 1000, 64);
    }

    private final EncoderModel fp32;
    private final Sets sets;
    private final List<int[]> calibration, heldOut, retrieval, probe;
    private final float[][] refHeldOut, refRetrieval;
    private final Map<String, float[]> originalWeights = new HashMap<>();

    public EncoderEvaluator(EncoderModel fp32, Sets sets) {
        this.fp32 = fp32;
        this.sets = sets;
        this.calibration = EncoderQuantizer.calibrationIds(fp32, sets.calibration());
        this.heldOut = fp32.tokenize(EvalCorpus.split(EvalCorpus.Split.HELD_OUT).subList(0, sets.heldOut()), null);
        this.retrieval = fp32.tokenize(EvalCorpus.split(EvalCorpus.Split.RETRIEVAL).subList(0, sets.retrieval()), null);
        this.probe = heldOut.subList(0, Math.min(sets.layerProbe(), heldOut.size()));
        this.refHeldOut = fp32.embedIds(heldOut, EncoderModel.DEFAULT_BATCH_TOKENS);
        this.refRetrieval = fp32.embedIds(retrieval, EncoderModel.DEFAULT_BATCH_TOKENS);
        for (Linear l : fp32.encoder().linears()) originalWeights.put(l.name(), l.weightsOutIn());
    }

    public List<int[]> calibration() {
        return calibration;
    }

    public Sets sets() {
        return sets;
    }

    public Row evaluate(QuantRecipe recipe, BiConsumer<String, Integer> onLayer) {
        if (recipe.isSimulated()) {
            // No packed image: bits/weight is what the scheme would store (MicroScopiQOfficial), packed bytes its ceiling in bytes.
            long t0 = System.nanoTime();
            EncoderQuantizer.Simulation s = EncoderQuantizer.simulate(fp32, recipe, calibration, onLayer);
            double secs = (System.nanoTime() - t0) / 1e9;
            return evaluate(recipe.name(), s.result().layers(), s.result().model(), secs, s.bitsPerWeight(), (s.storedBits() + 7) / 8);
        }
        if (recipe.format() == null) {
            long params = originalWeights.values().stream().mapToLong(w -> w.length).sum();
            return new Row("fp32", 32.0, params * 4, Double.POSITIVE_INFINITY, 0.0, 1.0, 1.0, 0.0);
        }
        long t0 = System.nanoTime();
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, recipe, calibration, onLayer);
        double secs = (System.nanoTime() - t0) / 1e9;
        return evaluate(recipe.name(), r.layers(), r.model(), secs);
    }

    /** Metrics for layers quantized elsewhere (e.g. loaded from a container). */
    public Row evaluate(String name, List<QuantizedLayer> layers, EncoderModel quantized, double quantizeSeconds) {
        return evaluate(name, layers, quantized, quantizeSeconds, QualityReport.bitsPerWeight(layers), QualityReport.packedBytes(layers));
    }

    private Row evaluate(String name, List<QuantizedLayer> layers, EncoderModel quantized, double quantizeSeconds, double bitsPerWeight, long bytes) {
        float[][] hq = quantized.embedIds(heldOut, EncoderModel.DEFAULT_BATCH_TOKENS);
        float[][] rq = quantized.embedIds(retrieval, EncoderModel.DEFAULT_BATCH_TOKENS);
        return new Row(name, bitsPerWeight, bytes,
                QualityReport.weightSqnrDb(layers, originalWeights), layerOutputError(layers), QualityReport.meanCosine(refHeldOut, hq),
                QualityReport.recallAtK(refHeldOut, refRetrieval, hq, rq, 10), quantizeSeconds);
    }

    /** Mean over layers of the relative output error on the FP32 model's own held-out activations. */
    private double layerOutputError(List<QuantizedLayer> layers) {
        Map<String, QuantizedLayer> byName = new LinkedHashMap<>();
        for (QuantizedLayer q : layers) byName.put(q.name(), q);
        Map<String, double[]> sums = new HashMap<>(); // name -> {num, den}
        EncoderModel probed = fp32.mapLinears(lin -> {
            QuantizedLayer q = byName.get(lin.name());
            return q == null ? lin : new ErrorProbe(lin, q, sums);
        });
        probed.embedIds(probe, EncoderModel.DEFAULT_BATCH_TOKENS);
        double total = 0;
        for (double[] s : sums.values()) total += Math.sqrt(s[0] / s[1]);
        return total / sums.size();
    }

    /** Passes the FP32 result on, and adds the quantized layer's error on the same input to {@code sums}. */
    private static final class ErrorProbe extends ForwardingLinear {
        private final QuantizedLayer q;
        private final Map<String, double[]> sums;

        ErrorProbe(Linear fp, QuantizedLayer q, Map<String, double[]> sums) {
            super(fp);
            this.q = q;
            this.sums = sums;
        }

        @Override
        public void forward(float[] x, int rows, float[] y) {
            inner.forward(x, rows, y);
            double[] e = QualityReport.outputErrorSums(x, rows, inner.weightsOutIn(), q.dequantized(), outFeatures(), inFeatures());
            synchronized (sums) {
                double[] s = sums.computeIfAbsent(name(), k -> new double[2]);
                s[0] += e[0];
                s[1] += e[1];
            }
        }
    }
}
