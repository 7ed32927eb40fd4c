package io.qbridge.emulator;

import io.qbridge.device.PerfConfig;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-layer, per-operand Ax-BxP configuration search ({@code docs/emulator.md} §9b; <b>ours</b>: the paper's method
 * was not available). For each linear layer independently: the candidates (bit block K; every kept-block count of the
 * activations and of the weights, 1..N each; DYNAMIC windows; the FULL mask and every SIGNIFICANCE depth) are ordered by
 * modelled energy per MAC ({@link AxBxpCost}, cheapest first; ties: more MACs per cycle, then the canonical string), and
 * the first whose layer output on the calibration rows stays within the budget is chosen:
 * <pre>
 *   error = ||Y_config - Y_FxP8||_F / ||Y_FxP8||_F      (Y without bias, through AxBxpKernel, the device's arithmetic)
 * </pre>
 * The exact configuration (error 0) ends the list, so every layer gets one. The calibration rows are the layer's inputs
 * while the calibration sentences run through {@code hostModel} (the FxP8 weights dequantized, FP32 activations), the
 * first {@code maxRows} tokens in sentence order. Deterministic: same model, sentences and budget give the same plan.
 * The per-layer budget bounds each layer's own error, not the end-to-end one (errors compound through the network):
 * the eval rows report the end-to-end cosine that results.
 */
public final class AxBxpSearch {
    private AxBxpSearch() {}

    /** One layer's choice: its configuration, its measured error, its modelled cost against FxP8 on the same PE. */
    public record Choice(String layer, io.qbridge.format.QuantFormat format, int n, int k, AxBxp.Config config, double error, double pjPerMac, double fxp8PjPerMac, int macsPerCycle, int tried) {}

    /** The search's outcome and what it was run with. */
    public record Result(double budget, int bitBlock, int rows, List<Choice> layers) {
        public AxBxpPlan plan() {
            Map<String, AxBxp.Config> m = new LinkedHashMap<>();
            for (Choice c : layers) m.put(c.layer(), c.config());
            return new AxBxpPlan(null, m);
        }

        /** The manifest settings: every layer's configuration ({@code axbxp.<layer>}) and how they were found ({@code axbxp-search.*}). */
        public Map<String, String> settings() {
            Map<String, String> s = new LinkedHashMap<>(plan().toSettings());
            s.put("axbxp-search.objective", "least modelled energy per MAC with layer-output relative error to FxP8 <= budget");
            s.put("axbxp-search.budget", Double.toString(budget));
            s.put("axbxp-search.rows", Integer.toString(rows));
            return s;
        }
    }

    /** The candidates at bit block K, cheapest first (class comment). */
    public static List<AxBxp.Config> candidates(int bitBlock, PerfConfig perf) {
        int n = AxBxp.blocks(bitBlock);
        List<AxBxp.Config> out = new ArrayList<>();
        for (int lx = 1; lx <= n; lx++)
            for (int lw = 1; lw <= n; lw++) {
                AxBxp.Config full = AxBxp.Config.full(bitBlock, lx, lw, AxBxp.Window.DYNAMIC);
                out.add(full);
                for (int d = 0; d < lx + lw - 2; d++) out.add(new AxBxp.Config(full.x(), full.w(), AxBxp.Mask.significance(lx, lw, d)));
            }
        AxBxpCost cost = AxBxpCost.defaults(bitBlock, perf);
        out.sort(Comparator.comparingDouble((AxBxp.Config c) -> cost.pjPerMac(c, perf))
                .thenComparing(c -> -cost.macsPerCycle(c)).thenComparing(AxBxpPlan::format));
        return out;
    }

    /**
     * Chooses a configuration for every layer of {@code layers} (rtn-w8g&lt;g&gt; weights).
     *
     * @param hostModel   the model whose layer inputs are recorded (normally the quantized model on the host)
     * @param calibration token ids of the calibration sentences
     * @param budget      the largest layer-output relative error to FxP8 allowed, in [0, 1)
     * @param maxRows     calibration rows (tokens) per layer
     * @param onLayer     hears (layer name, layers done)
     */
    public static Result search(EncoderModel hostModel, List<QuantizedLayer> layers, List<int[]> calibration, double budget, int bitBlock, int maxRows,
                                PerfConfig perf, java.util.function.BiConsumer<String, Integer> onLayer) {
        if (!(budget >= 0 && budget < 1)) throw new IllegalArgumentException("Ax-BxP error budget must be in [0, 1), got " + budget);
        if (maxRows < 1) throw new IllegalArgumentException("Ax-BxP search needs at least one calibration row, got " + maxRows);
        if (calibration.isEmpty()) throw new IllegalArgumentException("Ax-BxP search needs calibration sentences");
        Map<String, float[]> inputs = record(hostModel, calibration, maxRows);
        List<AxBxp.Config> cands = candidates(bitBlock, perf);
        AxBxpCost cost = AxBxpCost.defaults(bitBlock, perf);
        AxBxp.Config exact = AxBxp.Config.full(bitBlock, AxBxp.blocks(bitBlock), AxBxp.blocks(bitBlock), AxBxp.Window.DYNAMIC); // = FxP8
        List<Choice> out = new ArrayList<>();
        int rows = -1;
        for (QuantizedLayer l : layers) {
            float[] x = inputs.get(l.name());
            if (x == null) throw new IllegalArgumentException("layer " + l.name() + " is not a linear layer of " + hostModel.name());
            int k = l.packed().k(), n = l.packed().n(), m = x.length / k;
            rows = rows < 0 ? m : Math.min(rows, m);
            if (l.inputPerm() != null) x = gather(x, m, k, l.inputPerm());
            int[] q = new int[m * k];
            float[] xs = new float[m];
            ActivationQuantizer.quantize(x, k, m, q, xs);
            DecodedWeights d = WeightDecoder.decode(l.packed());
            float[] ref = new float[m * n], y = new float[m * n];
            new AxBxpKernel(d, exact).compute(q, xs, null, m, ref);
            double refNorm = 0;
            for (float v : ref) refNorm += (double) v * v;
            int tried = 0;
            for (AxBxp.Config c : cands) {
                tried++;
                double err;
                if (c.equals(exact)) err = 0;
                else {
                    new AxBxpKernel(d, c).compute(q, xs, null, m, y);
                    double e = 0;
                    for (int i = 0; i < y.length; i++) { double t = (double) y[i] - ref[i]; e += t * t; }
                    err = refNorm == 0 ? (e == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(e / refNorm);
                }
                if (err <= budget) {
                    out.add(new Choice(l.name(), l.packed().format(), n, k, c, err, cost.pjPerMac(c, perf), cost.fxp8PjPerMac(bitBlock, perf), cost.macsPerCycle(c), tried));
                    break;
                }
            }
            if (onLayer != null) onLayer.accept(l.name(), out.size());
        }
        return new Result(budget, bitBlock, Math.max(rows, 0), List.copyOf(out));
    }

    /** One layer's modelled run of {@code tokens} tokens: Ax-BxP with its configuration, and FxP8 on the same PE (the exact configuration). */
    public record LayerCost(Choice choice, io.qbridge.device.PerformanceModel.Estimate axbxp, io.qbridge.device.PerformanceModel.Estimate fxp8) {}

    /** The performance model's figures for every chosen layer at {@code tokens} tokens (docs/performance-model.md §3). */
    public static List<LayerCost> costs(Result r, PerfConfig perf, int tokens) {
        io.qbridge.device.PerformanceModel model = new io.qbridge.device.PerformanceModel(perf, io.qbridge.device.ActivationMode.AXBXP);
        AxBxpCost cost = AxBxpCost.defaults(r.bitBlock(), perf);
        int nb = AxBxp.blocks(r.bitBlock());
        AxBxp.Config exact = AxBxp.Config.full(r.bitBlock(), nb, nb, AxBxp.Window.DYNAMIC);
        var fx = new io.qbridge.device.PerformanceModel.BlockProductPe(cost.macsPerCycle(exact), cost.pjPerMac(exact, perf));
        List<LayerCost> out = new ArrayList<>();
        for (Choice c : r.layers()) {
            var p = io.qbridge.device.PerformanceModel.LayerProfile.forShape(c.format(), c.n(), c.k(), 0, 0);
            var pe = new io.qbridge.device.PerformanceModel.BlockProductPe(c.macsPerCycle(), c.pjPerMac());
            out.add(new LayerCost(c, model.estimate(p, tokens, pe), model.estimate(p, tokens, fx)));
        }
        return out;
    }

    private static float[] gather(float[] x, int m, int k, int[] perm) {
        float[] g = new float[x.length];
        for (int r = 0; r < m; r++) for (int j = 0; j < k; j++) g[r * k + j] = x[r * k + perm[j]];
        return g;
    }

    /** Each linear layer's inputs over the calibration sentences, one sentence at a time, the first {@code maxRows} tokens. */
    static Map<String, float[]> record(EncoderModel model, List<int[]> calibration, int maxRows) {
        Map<String, float[]> rows = new HashMap<>();
        Map<String, Integer> filled = new HashMap<>();
        EncoderModel recording = model.mapLinears(lin -> new Recorder(lin, rows, filled, maxRows));
        for (int[] ids : calibration) {
            recording.embedIds(List.of(ids), EncoderModel.DEFAULT_BATCH_TOKENS);
            boolean full = !filled.isEmpty();
            for (int f : filled.values()) full &= f >= maxRows;
            if (full) break;
        }
        Map<String, float[]> out = new HashMap<>();
        for (Map.Entry<String, float[]> e : rows.entrySet()) {
            int k = e.getValue().length / maxRows;
            out.put(e.getKey(), java.util.Arrays.copyOf(e.getValue(), filled.get(e.getKey()) * k));
        }
        return out;
    }

    /** A linear layer that copies its input rows (up to the limit) before computing as the layer it wraps. */
    private record Recorder(Linear inner, Map<String, float[]> rows, Map<String, Integer> filled, int maxRows) implements Linear {
        @Override public String name() { return inner.name(); }
        @Override public int inFeatures() { return inner.inFeatures(); }
        @Override public int outFeatures() { return inner.outFeatures(); }
        @Override public float[] weightsOutIn() { return inner.weightsOutIn(); }
        @Override public float[] bias() { return inner.bias(); }

        @Override
        public void forward(float[] x, int n, float[] y) {
            synchronized (rows) {
                int k = inner.inFeatures(), have = filled.getOrDefault(name(), 0), take = Math.min(n, maxRows - have);
                float[] buf = rows.computeIfAbsent(name(), s -> new float[maxRows * k]);
                if (take > 0) System.arraycopy(x, 0, buf, have * k, take * k);
                filled.put(name(), have + Math.max(take, 0));
            }
            inner.forward(x, n, y);
        }
    }
}
