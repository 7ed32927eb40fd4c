package io.qbridge.runtime;

import io.qbridge.device.PerformanceModel.LayerProfile;
import io.qbridge.emulator.WeightDecoder;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The two inputs of the performance model that depend on the weights, measured on real ones: the MicroScopiQ
 * outlier rate and FineQ's pulses per weight, from every linear layer of a built-in encoder quantized with RTN,
 * packed, and decoded as the emulator does at load ({@link WeightDecoder#profile}). {@code qbridge estimate} then
 * applies them to a layer too large to pack as rates ({@link LayerProfile#forShape}).
 *
 * <p>It lives here rather than in {@code pipeline} because the count is the emulator's decoder's: counting outliers
 * and pulses any other way would be a second decoder.
 */
public final class LayerRates {
    /** Weight-dependent inputs of one format, measured on a model's layers (or given). */
    public record Rates(double outliersPerWeight, double pulsesPerWeight, String source, int layers, long weights) {}

    /**
     * Runs {@code quantize}, which reports each finished linear layer to the listener it is given (the CLI puts a
     * progress bar around it).
     */
    @FunctionalInterface
    public interface QuantizeRunner {
        EncoderQuantizer.Result run(EncoderModel fp32, QuantRecipe recipe, Function<BiConsumer<String, Integer>, EncoderQuantizer.Result> quantize);
    }

    /** Measurements per (model, format): RTN of bge-small takes about a second per format, so a process does it once. */
    private static final Map<String, Rates> MEASURED = new ConcurrentHashMap<>();

    private LayerRates() {}

    /**
     * RTN-quantizes every linear layer of {@code source} into {@code f}, packs and decodes it, and sums outliers,
     * pulses and weights. {@code encoder} gives the FP32 model (called only when not measured before in this
     * process); {@code log} gets one line per measurement made.
     */
    public static Rates measure(QuantFormat f, EncoderModel.Builtin source, Supplier<EncoderModel> encoder, QuantizeRunner runner, Consumer<String> log) {
        String key = source.alias + "|" + f.id();
        Rates cached = MEASURED.get(key);
        if (cached != null) return cached;
        long t0 = System.nanoTime();
        EncoderModel fp32 = encoder.get();
        QuantRecipe recipe = QuantRecipe.parse(f.id() + "@rtn");
        EncoderQuantizer.Result q = runner.run(fp32, recipe, onLayer -> EncoderQuantizer.quantize(fp32, recipe, List.of(), onLayer));
        long outliers = 0, pulses = 0, weights = 0;
        for (QuantizedLayer l : q.layers()) {
            LayerProfile p = WeightDecoder.profile(l.packed());
            outliers += p.outliers();
            pulses += p.pulses();
            weights += (long) p.n() * p.k();
        }
        Rates r = new Rates((double) outliers / weights, (double) pulses / weights, source.alias, q.layers().size(), weights);
        log.accept(String.format("measured %s on %s (RTN, %d linear layers, %,d weights) in %.1f s", f.id(), source.alias, r.layers(), weights,
                (System.nanoTime() - t0) / 1e9));
        MEASURED.put(key, r);
        return r;
    }
}
