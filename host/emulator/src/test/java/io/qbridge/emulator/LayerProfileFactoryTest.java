package io.qbridge.emulator;

import io.qbridge.device.PerformanceModel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.quant.Rtn;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link PerformanceModel.LayerProfile#forShape} (what {@code qbridge estimate} uses for layers it does not pack)
 * gives the profile {@link WeightDecoder#profile} reads from a packed layer, when handed that layer's own
 * outlier and pulse rates: same byte size, same scale blocks, same counts.
 */
class LayerProfileFactoryTest {
    private static final List<String> FORMATS = List.of("rtn-w8g128", "rtn-w4g128", "int4-asym-g128", "rtn-w3g64", "mxint8", "mxfp8-e4m3",
            "mxfp6-e2m3", "mxfp4", "microscopiq-w4", "microscopiq-w2", "microscopiq-w4-c4", "microscopiq-w2-c4", "fineq");

    private static Linear query, ffnOut;

    @BeforeAll
    static void load() {
        List<Linear> linears = EncoderModel.load(EncoderModel.Builtin.MINILM).encoder().linears();
        query = linears.get(0);
        ffnOut = linears.stream().filter(l -> l.inFeatures() > l.outFeatures()).findFirst().orElseThrow();
    }

    /** The first {@code k} input columns of a real layer (a shape whose last group, block and FineQ cluster are partial). */
    private static float[] leftColumns(Linear l, int k) {
        float[] w = l.weightsOutIn(), out = new float[l.outFeatures() * k];
        for (int r = 0; r < l.outFeatures(); r++) System.arraycopy(w, r * l.inFeatures(), out, r * k, k);
        return out;
    }

    private static void check(QuantFormat f, float[] w, int n, int k) {
        PackedTensor p = f.pack(Rtn.quantizeRtn(f, w, n, k));
        PerformanceModel.LayerProfile real = WeightDecoder.profile(p);
        double weights = (double) n * k;
        PerformanceModel.LayerProfile shaped = PerformanceModel.LayerProfile.forShape(f, n, k, real.outliers() / weights, real.pulses() / weights);
        assertEquals(real, shaped, f.id() + " " + n + "x" + k);
        assertEquals(p.bytes().length, shaped.packedBytes());
    }

    @Test
    void equalsTheProfileOfARealPackedLayer() {
        for (String name : FORMATS) {
            QuantFormat f = QuantFormat.parse(name);
            check(f, query.weightsOutIn(), query.outFeatures(), query.inFeatures());
            check(f, ffnOut.weightsOutIn(), ffnOut.outFeatures(), ffnOut.inFeatures());
            check(f, leftColumns(query, 208), query.outFeatures(), 208); // 208 = 13 blocks of 16, not a multiple of 32, 128 or 3
        }
    }

    @Test
    void realLayersHaveOutliersAndPulsesSoTheCheckIsNotVacuous() {
        float[] w = query.weightsOutIn();
        int n = query.outFeatures(), k = query.inFeatures();
        QuantFormat msq = QuantFormat.parse("microscopiq-w4"), fq = QuantFormat.parse("fineq");
        assertTrue(WeightDecoder.profile(msq.pack(Rtn.quantizeRtn(msq, w, n, k))).outliers() > 0);
        assertTrue(WeightDecoder.profile(fq.pack(Rtn.quantizeRtn(fq, w, n, k))).pulses() > (long) n * k / 2);
    }

    @Test
    void theModelSeesTheCompactLayoutsExactBitsPerWeight() {
        // docs/formats.md §4: b + 8/(G B) + Mb/B with every metadata bit counted, for G B | K
        for (String name : List.of("microscopiq-w4", "microscopiq-w2")) {
            io.qbridge.format.MicroScopiQFormat f = (io.qbridge.format.MicroScopiQFormat) QuantFormat.parse(name);
            double formula = f.bits() + 8.0 / f.macroColumns() + (double) f.blockMetadataBits() / f.blockSize();
            PerformanceModel.LayerProfile p = PerformanceModel.LayerProfile.forShape(f, 4096, 4096, 0.04, 0);
            assertEquals(formula, 8.0 * p.packedBytes() / (4096.0 * 4096), 0.0, name);
        }
    }

    @Test
    void refusesRatesTheFormatCannotHave() {
        QuantFormat w4 = QuantFormat.parse("microscopiq-w4"), c4 = QuantFormat.parse("microscopiq-w4-c4");
        QuantFormat int4 = QuantFormat.parse("rtn-w4g128"), fq = QuantFormat.parse("fineq");
        assertThrows(IllegalArgumentException.class, () -> PerformanceModel.LayerProfile.forShape(w4, 64, 64, 1.0 / 16 + 1e-9, 0)); // one pair per block
        PerformanceModel.LayerProfile.forShape(c4, 64, 64, 4.0 / 16, 0); // four pairs per block: allowed
        assertThrows(IllegalArgumentException.class, () -> PerformanceModel.LayerProfile.forShape(int4, 64, 64, 0.01, 0));
        assertThrows(IllegalArgumentException.class, () -> PerformanceModel.LayerProfile.forShape(int4, 64, 64, 0, 1.0));
        assertThrows(IllegalArgumentException.class, () -> PerformanceModel.LayerProfile.forShape(fq, 64, 64, 0, 4.5));
        assertThrows(IllegalArgumentException.class, () -> PerformanceModel.LayerProfile.forShape(fq, 64, 64, 0, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> PerformanceModel.LayerProfile.forShape(w4, 64, 100, 0, 0)); // K not a multiple of 16
        assertThrows(IllegalArgumentException.class, () -> PerformanceModel.LayerProfile.forShape(int4, 0, 64, 0, 0));
    }
}
