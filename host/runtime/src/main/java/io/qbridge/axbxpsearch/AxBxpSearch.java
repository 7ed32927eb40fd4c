package io.qbridge.axbxpsearch;

import io.qbridge.device.ActivationMode;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.PerformanceModel;
import io.qbridge.emulator.ActivationQuantizer;
import io.qbridge.emulator.AxBxp;
import io.qbridge.emulator.AxBxpCost;
import io.qbridge.emulator.AxBxpKernel;
import io.qbridge.emulator.AxBxpPlan;
import io.qbridge.emulator.DecodedWeights;
import io.qbridge.emulator.WeightDecoder;
import io.qbridge.format.QuantFormat;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The per-layer, per-operand Ax-BxP configuration search ({@code docs/emulator.md} §9b; <b>ours</b>: the paper's method
 * was not available). For each linear layer independently: the candidates (bit block K; every kept-block count of the
 * activations and of the weights, 1..N each; DYNAMIC windows; the FULL mask and every SIGNIFICANCE depth) are ordered by
 * modelled energy per MAC ({@link AxBxpCost}, cheapest first; ties: more MACs per cycle, then the canonical string), and
 * the first whose layer output on the calibration rows stays within the budget is chosen:
 * <pre>
 *   error = ||Y_config - Y_FxP8||_F / ||Y_FxP8||_F      (Y without bias, through AxBxpKernel, the device's arithmetic)
 * </pre>
 * The exact configuration (error 0) ends the list, so every layer gets one. The search sees a layer only through its
 * packed weights and its calibration input rows ({@link AxBxpCalibration} captures them from an encoder or a decoder),
 * so it is the same for every model. Deterministic: the same layers, rows and budget give the same plan. The per-layer
 * budget bounds each layer's own error, not the end-to-end one (errors compound through the network): the eval rows
 * report the end-to-end quality that results.
 */
public final class AxBxpSearch {
    private AxBxpSearch() {}

    /** One layer's choice: its configuration, its measured error, its modelled cost against FxP8 on the same PE. */
    public record Choice(String layer, QuantFormat format, int n, int k, AxBxp.Config config, double error, double pjPerMac, double fxp8PjPerMac,
                         int macsPerCycle, int tried) {}

    /**
     * How the configurations are chosen: {@code first-fit} (the default, class comment: each layer alone, its error within
     * the budget) or {@code greedy} (across layers: {@link #greedy}).
     */
    public enum Method {
        FIRST_FIT("first-fit"), GREEDY("greedy");

        public final String id;

        Method(String id) {
            this.id = id;
        }

        /** The method named {@code id}; a one-line error listing the names otherwise. */
        public static Method parse(String id) {
            for (Method m : values()) if (m.id.equals(id)) return m;
            throw new IllegalArgumentException("unknown Ax-BxP search '" + id + "' (valid: first-fit, greedy)");
        }
    }

    /** The search's outcome and what it was run with. */
    public record Result(double budget, int bitBlock, int rows, List<Choice> layers, Method method) {
        public Result(double budget, int bitBlock, int rows, List<Choice> layers) {
            this(budget, bitBlock, rows, layers, Method.FIRST_FIT);
        }

        public AxBxpPlan plan() {
            Map<String, AxBxp.Config> m = new LinkedHashMap<>();
            for (Choice c : layers) m.put(c.layer(), c.config());
            return new AxBxpPlan(null, m);
        }

        /** The manifest settings: every layer's configuration ({@code axbxp.<layer>}) and how they were found ({@code axbxp-search.*}). */
        public Map<String, String> settings() {
            Map<String, String> s = new LinkedHashMap<>(plan().toSettings());
            if (method == Method.GREEDY) {
                s.put("axbxp-search.method", method.id);
                s.put("axbxp-search.objective", "greedy least modelled layer energy with the RMS over layers of the layer-output relative error to FxP8 <= budget");
            } else {
                s.put("axbxp-search.objective", "least modelled energy per MAC with layer-output relative error to FxP8 <= budget");
            }
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
     * Chooses a configuration for every layer of {@code layers} (rtn-w8g&lt;g&gt; weights) from its calibration input rows.
     *
     * @param inputs  per layer name its calibration input rows, {@code [m][K]} in the model's input order (not act-order's)
     * @param budget  the largest layer-output relative error to FxP8 allowed, in [0, 1)
     * @param onLayer hears (layer name, layers done); may be null
     * @throws IllegalArgumentException for a budget outside [0, 1) or a layer without calibration rows
     */
    public static Result search(List<QuantizedLayer> layers, Map<String, float[]> inputs, double budget, int bitBlock, PerfConfig perf,
                                BiConsumer<String, Integer> onLayer) {
        if (!(budget >= 0 && budget < 1)) throw new IllegalArgumentException("Ax-BxP error budget must be in [0, 1), got " + budget);
        List<AxBxp.Config> cands = candidates(bitBlock, perf);
        List<Choice> out = new ArrayList<>();
        int rows = -1;
        for (QuantizedLayer l : layers) {
            float[] x = inputs.get(l.name());
            int k = l.packed().k();
            if (x == null || x.length < k) throw new IllegalArgumentException("layer " + l.name() + " has no Ax-BxP calibration rows");
            rows = rows < 0 ? x.length / k : Math.min(rows, x.length / k);
            out.add(choose(l, x, budget, bitBlock, perf, cands));
            if (onLayer != null) onLayer.accept(l.name(), out.size());
        }
        return new Result(budget, bitBlock, Math.max(rows, 0), List.copyOf(out));
    }

    /**
     * One layer's choice: the first of {@code candidates} (cheapest first) whose output on the rows {@code x} ({@code [m][K]},
     * the model's input order) is within {@code budget} of FxP8's (class comment).
     */
    public static Choice choose(QuantizedLayer l, float[] x, double budget, int bitBlock, PerfConfig perf, List<AxBxp.Config> candidates) {
        Probe probe = new Probe(l, x, bitBlock);
        int tried = 0;
        for (AxBxp.Config c : candidates) {
            tried++;
            double err = probe.error(c);
            if (err <= budget) return probe.choice(c, perf, tried);
        }
        throw new IllegalArgumentException("the Ax-BxP candidates of " + l.name() + " lack the exact configuration " + AxBxpPlan.format(probe.exact));
    }

    /** The relative error to FxP8 of layer {@code l} with configuration {@code c} on the rows {@code x} (class comment). */
    public static double error(QuantizedLayer l, float[] x, AxBxp.Config c) {
        return new Probe(l, x, c.x().bitBlock()).error(c);
    }

    /**
     * The greedy cross-layer search (<b>ours</b>, after the spec's §3.4 C, without its end-to-end re-validation). Every
     * layer starts exact (FxP8). A <i>move</i> changes one layer's configuration by one step ({@link #moves}: one block fewer
     * of the activations or of the weights, with the full mask; or the next tighter significance mask). Each round applies,
     * over all layers, the move with the largest energy saved per loss added, {@code ΔE / Δloss}, where ΔE is the modelled
     * energy saved per token ({@link AxBxpCost} pJ per MAC times the layer's N·K MACs) and Δloss the increase of the layer's
     * squared relative output error on its calibration rows (the layer-output proxy; a move that adds none comes first),
     * among the moves that keep the network's proxy {@code Σ err_l²} within {@code L · budget²} (the RMS of the L layer
     * errors within the budget: the same number E bounds each layer's error in first-fit and their RMS here, so a
     * greedy plan may give one layer more error than E where that saves the most energy). Ties: the lower layer
     * index, then the canonical string. It stops when no move saving energy fits. Deterministic.
     */
    public static Result greedy(List<QuantizedLayer> layers, Map<String, float[]> inputs, double budget, int bitBlock, PerfConfig perf,
                                BiConsumer<String, Integer> onLayer) {
        if (!(budget >= 0 && budget < 1)) throw new IllegalArgumentException("Ax-BxP error budget must be in [0, 1), got " + budget);
        AxBxpCost cost = AxBxpCost.defaults(bitBlock, perf);
        int count = layers.size(), rows = -1;
        Probe[] probes = new Probe[count];
        AxBxp.Config[] cur = new AxBxp.Config[count];
        double[] err2 = new double[count];
        for (int i = 0; i < count; i++) {
            QuantizedLayer l = layers.get(i);
            float[] x = inputs.get(l.name());
            int k = l.packed().k();
            if (x == null || x.length < k) throw new IllegalArgumentException("layer " + l.name() + " has no Ax-BxP calibration rows");
            rows = rows < 0 ? x.length / k : Math.min(rows, x.length / k);
            probes[i] = new Probe(l, x, bitBlock);
            cur[i] = probes[i].exact;
            if (onLayer != null) onLayer.accept(l.name(), i + 1);
        }
        double limit = count * budget * budget, total = 0;
        while (true) {
            int bestLayer = -1;
            AxBxp.Config bestMove = null;
            double bestScore = Double.NEGATIVE_INFINITY, bestE2 = 0;
            for (int i = 0; i < count; i++) {
                double macs = (double) probes[i].n * probes[i].k;
                for (AxBxp.Config m : moves(cur[i])) {
                    double dE = (cost.pjPerMac(cur[i], perf) - cost.pjPerMac(m, perf)) * macs;
                    if (!(dE > 0)) continue;
                    double e = probes[i].error(m), e2 = e * e, dLoss = e2 - err2[i];
                    if (!(total + dLoss <= limit)) continue;
                    double score = dLoss <= 0 ? Double.POSITIVE_INFINITY : dE / dLoss;
                    if (score > bestScore || (score == bestScore && i == bestLayer && AxBxpPlan.format(m).compareTo(AxBxpPlan.format(bestMove)) < 0)) {
                        bestScore = score;
                        bestLayer = i;
                        bestMove = m;
                        bestE2 = e2;
                    }
                }
            }
            if (bestMove == null) break;
            total += bestE2 - err2[bestLayer];
            err2[bestLayer] = bestE2;
            cur[bestLayer] = bestMove;
        }
        List<Choice> out = new ArrayList<>();
        for (int i = 0; i < count; i++) out.add(probes[i].choice(cur[i], perf, probes[i].tried()));
        return new Result(budget, bitBlock, Math.max(rows, 0), List.copyOf(out), Method.GREEDY);
    }

    /**
     * The greedy search's one-step moves from {@code c} (DYNAMIC windows, as the candidates): one activation block fewer, one
     * weight block fewer (each with the full mask of the smaller operands), and the next tighter significance mask (full
     * to the deepest significance mask, depth D to D - 1).
     */
    public static List<AxBxp.Config> moves(AxBxp.Config c) {
        int k = c.x().bitBlock(), lx = c.x().kept(), lw = c.w().kept();
        List<AxBxp.Config> out = new ArrayList<>();
        if (lx > 1) out.add(AxBxp.Config.full(k, lx - 1, lw, AxBxp.Window.DYNAMIC));
        if (lw > 1) out.add(AxBxp.Config.full(k, lx, lw - 1, AxBxp.Window.DYNAMIC));
        int depth = lx + lw - 2; // the full mask is significance depth lx + lw - 2
        for (int d = 0; d < lx + lw - 2; d++) if (c.mask().equals(AxBxp.Mask.significance(lx, lw, d))) depth = d;
        if (!c.mask().equals(AxBxp.Mask.full(lx, lw)) && depth == lx + lw - 2) return out; // an explicit mask: no tighter step defined
        if (depth >= 1) out.add(new AxBxp.Config(c.x(), c.w(), AxBxp.Mask.significance(lx, lw, depth - 1)));
        return out;
    }

    /** One layer prepared for measuring configurations: its INT8 calibration rows, decoded weights and FxP8 output; errors cached. */
    private static final class Probe {
        final QuantizedLayer layer;
        final int n, k, m;
        final AxBxp.Config exact;
        private final int[] q;
        private final float[] xs, ref;
        private final DecodedWeights d;
        private final double refNorm;
        private final Map<String, Double> errors = new LinkedHashMap<>();

        Probe(QuantizedLayer l, float[] x, int bitBlock) {
            layer = l;
            exact = AxBxpSearch.exact(bitBlock); // = FxP8
            k = l.packed().k();
            n = l.packed().n();
            m = x.length / k;
            if (l.inputPerm() != null) x = gather(x, m, k, l.inputPerm());
            q = new int[m * k];
            xs = new float[m];
            ActivationQuantizer.quantize(x, k, m, q, xs);
            d = WeightDecoder.decode(l.packed());
            ref = new float[m * n];
            new AxBxpKernel(d, exact).compute(q, xs, null, m, ref);
            double r = 0;
            for (float v : ref) r += (double) v * v;
            refNorm = r;
        }

        double error(AxBxp.Config c) {
            if (c.equals(exact)) return 0;
            return errors.computeIfAbsent(AxBxpPlan.format(c), s -> {
                float[] y = new float[m * n];
                new AxBxpKernel(d, c).compute(q, xs, null, m, y);
                double e = 0;
                for (int i = 0; i < y.length; i++) {
                    double t = (double) y[i] - ref[i];
                    e += t * t;
                }
                return refNorm == 0 ? (e == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(e / refNorm);
            });
        }

        /** Configurations measured so far (the exact one counted once). */
        int tried() {
            return errors.size() + 1;
        }

        Choice choice(AxBxp.Config c, PerfConfig perf, int tried) {
            AxBxpCost cost = AxBxpCost.defaults(exact.x().bitBlock(), perf);
            return new Choice(layer.name(), layer.packed().format(), n, k, c, error(c), cost.pjPerMac(c, perf), cost.fxp8PjPerMac(exact.x().bitBlock(), perf),
                    cost.macsPerCycle(c), tried);
        }
    }

    /** The exact configuration at bit block K (every block of both operands, every product): FxP8. */
    public static AxBxp.Config exact(int bitBlock) {
        return AxBxp.Config.full(bitBlock, AxBxp.blocks(bitBlock), AxBxp.blocks(bitBlock), AxBxp.Window.DYNAMIC);
    }

    /** One layer's modelled run of {@code tokens} tokens: Ax-BxP with its configuration, and FxP8 on the same PE (the exact configuration). */
    public record LayerCost(Choice choice, PerformanceModel.Estimate axbxp, PerformanceModel.Estimate fxp8) {}

    /** The performance model's figures for every chosen layer at {@code tokens} tokens (docs/performance-model.md §3). */
    public static List<LayerCost> costs(Result r, PerfConfig perf, int tokens) {
        PerformanceModel model = new PerformanceModel(perf, ActivationMode.AXBXP);
        // the PE the emulator and the board price a configuration with (AxBxpCost.pe: its throughput, energy and stored bits)
        var fx = AxBxpCost.pe(exact(r.bitBlock()), perf);
        List<LayerCost> out = new ArrayList<>();
        for (Choice c : r.layers()) {
            var p = PerformanceModel.LayerProfile.forShape(c.format(), c.n(), c.k(), 0, 0);
            out.add(new LayerCost(c, model.estimate(p, tokens, AxBxpCost.pe(c.config(), perf)), model.estimate(p, tokens, fx)));
        }
        return out;
    }

    private static float[] gather(float[] x, int m, int k, int[] perm) {
        float[] g = new float[x.length];
        for (int r = 0; r < m; r++) for (int j = 0; j < k; j++) g[r * k + j] = x[r * k + perm[j]];
        return g;
    }
}
