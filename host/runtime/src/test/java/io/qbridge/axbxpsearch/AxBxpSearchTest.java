package io.qbridge.axbxpsearch;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.AxBxp;
import io.qbridge.emulator.AxBxpCost;
import io.qbridge.emulator.AxBxpPlan;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedEncoders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-layer Ax-BxP search on MiniLM (docs/emulator.md §9b) and its configurations through the .qbz. */
class AxBxpSearchTest {
    @Test
    void choosesTheCheapestConfigurationWithinTheBudgetAndTheQbzKeepsIt(@TempDir Path dir) throws Exception {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        EncoderQuantizer.Result q = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("rtn-w8g128"), List.of(), null);
        List<int[]> calib = EncoderQuantizer.calibrationIds(fp32, 3);
        PerfConfig perf = PerfConfig.u55c();
        List<io.qbridge.pipeline.QuantizedLayer> layers = q.layers().subList(0, 6); // the first encoder layer's six linears
        Map<String, float[]> rows = AxBxpCalibration.encoder(q.model(), calib, 16);
        AxBxpSearch.Result loose = AxBxpSearch.search(layers, rows, 0.1, 2, perf, null);
        AxBxpSearch.Result tight = AxBxpSearch.search(layers, rows, 0.01, 2, perf, null);
        AxBxpSearch.Result none = AxBxpSearch.search(layers, rows, 0, 2, perf, null);
        assertEquals(loose, AxBxpSearch.search(layers, AxBxpCalibration.encoder(q.model(), calib, 16), 0.1, 2, perf, null), "deterministic");
        assertEquals(16, loose.rows());
        List<AxBxp.Config> cands = AxBxpSearch.candidates(2, perf);
        AxBxpCost cost = AxBxpCost.defaults(2, perf);
        double eLoose = 0, eTight = 0;
        for (int i = 0; i < layers.size(); i++) {
            AxBxpSearch.Choice l = loose.layers().get(i), t = tight.layers().get(i);
            assertTrue(l.error() <= 0.1 && t.error() <= 0.01, l + " " + t);
            assertEquals(0, none.layers().get(i).error());
            // the choice is the first candidate within budget: every cheaper one was tried and failed
            assertEquals(cands.indexOf(l.config()) + 1, l.tried());
            assertEquals(cost.pjPerMac(l.config(), perf), l.pjPerMac(), 1e-15);
            eLoose += l.pjPerMac() * l.n() * l.k();
            eTight += t.pjPerMac() * t.n() * t.k();
            assertTrue(l.pjPerMac() <= t.pjPerMac() + 1e-15, "a looser budget never costs more: " + l + " " + t);
        }
        assertTrue(eLoose < eTight, "the 10 % budget saves energy over the 1 % one: " + eLoose + " vs " + eTight);
        assertTrue(loose.layers().stream().anyMatch(c -> !c.config().x().exact() || !c.config().w().exact()), "some layer is approximated at 10 %");

        // the greedy cross-layer search: the RMS of the layer errors within the budget, and it stops only when no move fits
        AxBxpSearch.Result greedy = AxBxpSearch.greedy(layers, rows, 0.1, 2, perf, null);
        assertEquals(greedy, AxBxpSearch.greedy(layers, rows, 0.1, 2, perf, null), "deterministic");
        double limit = layers.size() * 0.1 * 0.1, total = 0, eGreedy = 0, eExact = 0;
        for (AxBxpSearch.Choice c : greedy.layers()) {
            total += c.error() * c.error();
            eGreedy += c.pjPerMac() * c.n() * c.k();
            eExact += c.fxp8PjPerMac() * c.n() * c.k();
        }
        assertTrue(total <= limit * (1 + 1e-12), total + " > " + limit);
        assertTrue(eGreedy < eExact, "greedy saves energy over FxP8: " + eGreedy + " vs " + eExact);
        for (int i = 0; i < layers.size(); i++) {
            AxBxpSearch.Choice c = greedy.layers().get(i);
            assertEquals(AxBxpSearch.error(layers.get(i), rows.get(layers.get(i).name()), c.config()), c.error(), 0.0);
            for (AxBxp.Config m : AxBxpSearch.moves(c.config())) {
                if (cost.pjPerMac(m, perf) >= c.pjPerMac()) continue; // saves no energy: never a move
                double e = AxBxpSearch.error(layers.get(i), rows.get(layers.get(i).name()), m);
                assertTrue(total - c.error() * c.error() + e * e > limit * (1 - 1e-12), "a move still fits: " + c.layer() + " -> " + AxBxpPlan.format(m));
            }
        }
        assertEquals("greedy", greedy.settings().get("axbxp-search.method"));
        assertEquals(null, loose.settings().get("axbxp-search.method"), "first-fit settings are as before");

        // stored per layer in the manifest's settings, read back the same
        Map<String, String> settings = new LinkedHashMap<>(q.settings());
        settings.putAll(loose.settings());
        Path qbz = dir.resolve("m.qbz");
        QuantizedEncoders.save(qbz, EncoderModel.Builtin.MINILM, new EncoderQuantizer.Result(q.recipe(), q.layers(), q.model(), settings));
        QuantizedEncoders.Loaded back = QuantizedEncoders.load(qbz);
        assertEquals(loose.plan(), AxBxpPlan.fromSettings(back.manifest().settings()));
        assertEquals("0.1", back.manifest().settings().get("axbxp-search.budget"));
        assertTrue(Files.size(qbz) > 0);
    }
}
