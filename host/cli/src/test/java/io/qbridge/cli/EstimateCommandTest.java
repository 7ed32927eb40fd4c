package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qbridge.emulator.DecodedWeights;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.PerformanceModel;
import io.qbridge.device.PerformanceModel.Estimate;
import io.qbridge.device.PerformanceModel.LayerProfile;
import io.qbridge.emulator.WeightDecoder;
import io.qbridge.format.FineQFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code qbridge estimate} prints what {@link PerformanceModel#estimate} gives for the same inputs (the expected
 * numbers are computed here from the model, never written down), measures its rates as the decoder counts them, and
 * refuses bad input in one line with exit code 2.
 */
class EstimateCommandTest {
    private static final String FORMATS = "rtn-w8g128,int4-asym-g128,mxfp6-e2m3,mxfp4,microscopiq-w4,microscopiq-w2-c4,fineq";
    /** FineQ without the scale search (a few times faster to quantize; the pulses are counted the same way). */
    private static final String FINEQ_FAST = "fineq-g128-d3.5-s0";
    private static final double OUTLIER_RATE = 0.03, PULSES = 1.3;

    private static PerfConfig perf(Path dir) throws Exception {
        // a small array and small buffers, so the small layer has several tiles and re-read passes
        Path f = dir.resolve("perf.properties");
        Files.writeString(f, "preset=u250\narrayRows=16\narrayCols=8\nweightBufferBytes=4096\nactivationBufferBytes=1024\n");
        return PerfConfig.load(f);
    }

    private static LayerProfile expectedProfile(QuantFormat f, int n, int k) {
        return LayerProfile.forShape(f, n, k, f instanceof MicroScopiQFormat ? OUTLIER_RATE : 0, f instanceof FineQFormat ? PULSES : 0);
    }

    @Test
    void jsonIsThePerformanceModelsEstimate(@TempDir Path dir) throws Exception {
        int n = 96, k = 256;
        int[] tokens = {1, 3, 130};
        PerformanceModel model = new PerformanceModel(perf(dir));
        CliTest.Run r = CliTest.run("estimate", "--n", "" + n, "--k", "" + k, "--tokens", "1,3,130", "--formats", FORMATS, "--perf",
                dir.resolve("perf.properties").toString(), "--outliers-from", "none", "--outlier-rate", "" + OUTLIER_RATE, "--pulses-per-weight", "" + PULSES,
                "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(16, json.get("perf").get("arrayRows").asInt());
        List<String> names = List.of(FORMATS.split(","));
        assertEquals(names.size(), json.get("formats").size());
        for (int i = 0; i < names.size(); i++) {
            QuantFormat f = QuantFormat.parse(names.get(i));
            LayerProfile p = expectedProfile(f, n, k);
            JsonNode row = json.get("formats").get(i);
            assertEquals(f.id(), row.get("format").asText());
            assertEquals(p.packedBytes(), row.get("packedBytes").asLong());
            assertEquals(f.bitsPerWeight(n, k), row.get("bitsPerWeight").asDouble(), 0.0);
            assertEquals(p.outliers(), row.get("outliers").asLong());
            assertEquals(p.pulses(), row.get("pulses").asLong());
            for (int t = 0; t < tokens.length; t++) {
                Estimate e = model.estimate(p, tokens[t]);
                JsonNode run = row.get("runs").get(t);
                String at = f.id() + " M=" + tokens[t];
                assertEquals(tokens[t], run.get("tokens").asInt(), at);
                assertEquals(e.macs(), run.get("macs").asLong(), at);
                assertEquals(e.computeCycles(), run.get("computeCycles").asLong(), at);
                assertEquals(e.memoryCycles(), run.get("memoryCycles").asLong(), at);
                assertEquals(e.cycles(), run.get("cycles").asLong(), at);
                assertEquals(e.seconds(), run.get("seconds").asDouble(), 0.0, at);
                assertEquals(e.bound().name().toLowerCase(Locale.ROOT), run.get("bound").asText(), at);
                assertEquals(e.dramBytes(), run.get("dramBytes").asLong(), at);
                assertEquals(e.sramBytes(), run.get("sramBytes").asLong(), at);
                assertEquals(e.reconMerges(), run.get("reconMerges").asLong(), at);
                assertEquals(e.energyJoules(), run.get("energyJoules").asDouble(), 0.0, at);
                assertEquals(e.macJoules(), run.get("macJoules").asDouble(), 0.0, at);
                assertEquals(e.auxJoules(), run.get("mergeJoules").asDouble(), 0.0, at);
                assertEquals(e.scaleJoules(), run.get("scaleJoules").asDouble(), 0.0, at);
                assertEquals(e.sramJoules(), run.get("sramJoules").asDouble(), 0.0, at);
                assertEquals(e.dramJoules(), run.get("dramJoules").asDouble(), 0.0, at);
            }
        }
    }

    @Test
    void markdownRowsAreTheEstimatesRounded() {
        int n = 128, k = 384;
        CliTest.Run r = CliTest.run("estimate", "--n", "" + n, "--k", "" + k, "--tokens", "1,64", "--formats", FORMATS, "--outliers-from", "none",
                "--outlier-rate", "" + OUTLIER_RATE, "--pulses-per-weight", "" + PULSES, "--markdown");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("given on the command line"), r.out());
        PerformanceModel model = new PerformanceModel(PerfConfig.u55c());
        List<String> lines = r.out().lines().filter(l -> l.startsWith("| ")).toList();
        assertEquals("| format | bits/w | outliers | pulses/w | M=1 µs | M=1 µJ | M=64 µs | M=64 µJ | µJ mac/merge/scale/sram/dram (M=64) |", lines.get(0));
        List<String> names = List.of(FORMATS.split(","));
        assertEquals(names.size() + 1, lines.size());
        for (int i = 0; i < names.size(); i++) {
            QuantFormat f = QuantFormat.parse(names.get(i));
            LayerProfile p = expectedProfile(f, n, k);
            Estimate e1 = model.estimate(p, 1), e64 = model.estimate(p, 64);
            String expected = String.format(Locale.ROOT, "| %s | %.3f | %s | %s | %.1f | %.1f | %.1f | %.1f | %.0f/%.0f/%.0f/%.0f/%.0f |", f.id(),
                    f.bitsPerWeight(n, k), f instanceof MicroScopiQFormat ? String.format(Locale.ROOT, "%.2f %%", 100.0 * p.outliers() / (n * k)) : "–",
                    f instanceof FineQFormat ? String.format(Locale.ROOT, "%.3f", (double) p.pulses() / (n * k)) : "–",
                    e1.seconds() * 1e6, e1.energyJoules() * 1e6, e64.seconds() * 1e6, e64.energyJoules() * 1e6,
                    e64.macJoules() * 1e6, e64.auxJoules() * 1e6, e64.scaleJoules() * 1e6, e64.sramJoules() * 1e6, e64.dramJoules() * 1e6);
            assertEquals(expected, lines.get(i + 1));
        }
    }

    @Test
    void measuresRatesOnAnEncodersLayersAsTheDecoderCountsThem() throws Exception {
        CliTest.Run r = CliTest.run("estimate", "--n", "64", "--k", "128", "--tokens", "8", "--formats", "microscopiq-w2," + FINEQ_FAST + ",mxfp4", "--outliers-from", "minilm",
                "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode rows = new ObjectMapper().readTree(r.out()).get("formats");
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        for (int i = 0; i < 2; i++) {
            QuantRecipe recipe = QuantRecipe.parse(i == 0 ? "microscopiq-w2@rtn" : FINEQ_FAST + "@rtn");
            long outliers = 0, pulses = 0, weights = 0;
            List<QuantizedLayer> layers = EncoderQuantizer.quantize(fp32, recipe, List.of(), null).layers();
            for (QuantizedLayer l : layers) {
                DecodedWeights d = WeightDecoder.decode(l.packed());
                outliers += d.outliers();
                pulses += d.pulses();
                weights += (long) d.n() * d.k();
            }
            JsonNode rates = rows.get(i).get("rates");
            assertEquals("minilm", rates.get("source").asText());
            assertEquals(layers.size(), rates.get("layers").asInt());
            assertEquals(weights, rates.get("weights").asLong());
            assertEquals((double) outliers / weights, rates.get("outliersPerWeight").asDouble(), 0.0);
            assertEquals((double) pulses / weights, rates.get("pulsesPerWeight").asDouble(), 0.0);
            assertTrue(i == 0 ? outliers > 0 : pulses > 0);
            LayerProfile p = LayerProfile.forShape(recipe.format(), 64, 128, (double) outliers / weights, (double) pulses / weights);
            assertEquals(new PerformanceModel(PerfConfig.u55c()).estimate(p, 8).energyJoules(), rows.get(i).get("runs").get(0).get("energyJoules").asDouble(), 0.0);
        }
        assertTrue(rows.get(2).get("rates") == null, "mxfp4 needs no measured rate");
        // the text form says where the rates come from
        CliTest.Run text = CliTest.run("estimate", "--n", "64", "--k", "128", "--formats", "microscopiq-w2", "--outliers-from", "minilm");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("MicroScopiQ outlier rates measured on the 36 linear layers of minilm quantized with RTN"), text.out());
    }

    private static void assertRefused(String expectedPart, String... args) {
        String[] full = new String[args.length + 1];
        full[0] = "estimate";
        System.arraycopy(args, 0, full, 1, args.length);
        CliTest.Run r = CliTest.run(full);
        assertEquals(2, r.exit(), String.join(" ", args) + ": " + r.err());
        assertTrue(r.err().contains(expectedPart), r.err());
        assertTrue(r.err().startsWith("qbridge: "), r.err());
        assertEquals("", r.out(), "no partial table");
        assertTrue(r.err().lines().noneMatch(l -> l.startsWith("measured ") || l.startsWith("quantize ")), "refused before measuring anything: " + r.err());
    }

    @Test
    void badInputIsRefusedInOneLine() {
        assertRefused("--n must be >= 1, got 0", "--n", "0", "--outliers-from", "none");
        assertRefused("--k must be >= 1, got -4", "--k", "-4", "--outliers-from", "none");
        assertRefused("--tokens must all be >= 1, got 0", "--tokens", "1,0", "--formats", "mxfp4");
        assertRefused("unknown format or recipe 'nope'", "--formats", "mxfp4,nope");
        assertRefused("microscopiq-w4-official is a simulated (fake-quant) recipe with no packed byte layout", "--formats", "microscopiq-w4-official");
        assertRefused("takes format names, not recipes", "--formats", "microscopiq-w4@gptq");
        assertRefused("microscopiq-w4 cannot hold a 64 x 100 layer: k = 100 is not a multiple of the block size 16", "--n", "64", "--k", "100",
                "--formats", "microscopiq-w4", "--outlier-rate", "0.01");
        assertRefused("microscopiq-w2 needs an outlier rate: give --outlier-rate", "--formats", "mxfp4,microscopiq-w2", "--outliers-from", "none");
        assertRefused("fineq needs pulses per weight: give --pulses-per-weight", "--formats", "fineq", "--outliers-from", "none");
        assertRefused("at most 1 outlier(s) per block of 16", "--formats", "fineq,microscopiq-w4", "--outlier-rate", "0.2");
        assertRefused("outlier rate must be >= 0, got -0.01", "--formats", "microscopiq-w2", "--outlier-rate", "-0.01");
        assertRefused("--outliers-from gpt2: not a built-in encoder", "--formats", "mxfp4", "--outliers-from", "gpt2");
        assertRefused("no-such.properties: no such file", "--formats", "mxfp4", "--perf", "no-such.properties");
        assertRefused("Invalid value for option '--n'", "--n", "many");
    }
}
