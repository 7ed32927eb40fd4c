package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.emulator.AxBxpPlan;
import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.tokenizer.TokenizerFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ax-BxP on the LLaMA path: {@code quantize --axbxp-budget} stores a configuration per block layer in a decoder .qbz,
 * {@code generate --activations axbxp} runs it, or searches at load from the checkpoint with the same result.
 */
class DecoderAxBxpCliTest {
    private static String[] generate(String model, String... more) {
        String[] common = {"generate", "--model", model, "--prompt", "w260 ab", "--steps", "16", "--temperature", "0", "--device", "emulator",
                "--activations", "axbxp"};
        String[] all = Arrays.copyOf(common, common.length + more.length);
        System.arraycopy(more, 0, all, common.length, more.length);
        return all;
    }

    @Test
    void aDecoderQbzKeepsItsPerLayerConfigurationsAndGeneratesAsTheCheckpointSearchedAtLoad(@TempDir Path dir) throws Exception {
        Path ckpt = DecoderQbzCliTest.checkpoint(dir, true);
        Path qbz = dir.resolve("ax.qbz");
        CliTest.Run q = CliTest.run("quantize", "--model", ckpt.toString(), "--format", "rtn-w8g128", "--axbxp-budget", "0.05", "--calibration", "2",
                "--out", qbz.toString());
        assertEquals(0, q.exit(), q.err());
        assertTrue(q.err().contains("all 14 layers against FxP8"), q.err());
        Map<String, String> settings = QuantizedDecoders.load(qbz).manifest().settings();
        AxBxpPlan plan = AxBxpPlan.fromSettings(settings);
        assertEquals(14, plan.layers().size(), settings.toString());
        assertEquals("0.05", settings.get("axbxp-search.budget"));
        LlamaWeights w = Llama2cCheckpoint.load(ckpt);
        for (LlamaWeights.Layer l : w.layers()) for (var lin : l.linears()) assertTrue(plan.layers().containsKey(lin.name()), lin.name() + " in " + plan);
        assertTrue(plan.layers().values().stream().anyMatch(c -> !c.x().exact() || !c.w().exact()), "some layer approximated at 5 %: " + plan);

        CliTest.Run fromQbz = CliTest.run(generate(qbz.toString()));
        CliTest.Run fromCkpt = CliTest.run(generate(ckpt.toString(), "--format", "rtn-w8g128", "--axbxp-budget", "0.05", "--calib-sequences", "2"));
        assertEquals(0, fromQbz.exit(), fromQbz.err());
        assertEquals(0, fromCkpt.exit(), fromCkpt.err());
        assertEquals(fromCkpt.out(), fromQbz.out(), "the search at load chooses what the container stores: token for token the same");
        assertTrue(fromQbz.out().length() > "w260 ab".length() + 5, fromQbz.out());
        // the greedy search, named, stores its method beside the configurations
        Path greedy = dir.resolve("greedy.qbz");
        CliTest.Run g = CliTest.run("quantize", "--model", ckpt.toString(), "--format", "rtn-w8g128", "--axbxp-budget", "0.05", "--axbxp-search", "greedy",
                "--calibration", "2", "--out", greedy.toString());
        assertEquals(0, g.exit(), g.err());
        Map<String, String> gs = QuantizedDecoders.load(greedy).manifest().settings();
        assertEquals("greedy", gs.get("axbxp-search.method"));
        assertEquals(14, AxBxpPlan.fromSettings(gs).layers().size());
        CliTest.Run badSearch = CliTest.run("quantize", "--model", ckpt.toString(), "--format", "rtn-w8g128", "--axbxp-budget", "0.05", "--axbxp-search", "best",
                "--out", dir.resolve("never.qbz").toString());
        assertEquals(2, badSearch.exit());
        assertEquals("qbridge: --axbxp-search: unknown Ax-BxP search 'best' (valid: first-fit, greedy)", badSearch.err().strip());
        assertTrue(Files.notExists(dir.resolve("never.qbz")));
        // the search configures the block layers only: a packed classifier would have no configuration
        CliTest.Run withClassifier = CliTest.run("quantize", "--model", ckpt.toString(), "--format", "rtn-w8g128", "--axbxp-budget", "0.05",
                "--classifier-on-device", "--out", dir.resolve("never.qbz").toString());
        assertEquals(2, withClassifier.exit());
        assertEquals("qbridge: --classifier-on-device: the Ax-BxP search configures the block layers only, so the classifier would have no "
                + "configuration; leave it FP32 on the host", withClassifier.err().strip());
        // a search method without a budget to search would be ignored
        CliTest.Run noBudget = CliTest.run("quantize", "--model", ckpt.toString(), "--format", "rtn-w8g128", "--axbxp-search", "greedy",
                "--out", dir.resolve("never.qbz").toString());
        assertEquals(2, noBudget.exit());
        assertEquals("qbridge: --axbxp-search: only with --axbxp-budget (it names how the budget is searched)", noBudget.err().strip());
        CliTest.Run noBudgetGenerate = CliTest.run(generate(qbz.toString(), "--axbxp-search", "greedy"));
        assertEquals(2, noBudgetGenerate.exit());
        assertEquals("qbridge: --axbxp-search: only with --axbxp-budget (it names how the budget is searched)", noBudgetGenerate.err().strip());
        assertTrue(Files.notExists(dir.resolve("never.qbz")));
        // a uniform configuration runs from the checkpoint, and fills the layers a container leaves out
        CliTest.Run uniform = CliTest.run(generate(ckpt.toString(), "--format", "rtn-w8g128", "--axbxp", "k2-x2d-w2d-full"));
        assertEquals(0, uniform.exit(), uniform.err());
    }

    @Test
    void badConfigurationsAndMissingOnesAreOneLine(@TempDir Path dir) throws Exception {
        Path ckpt = DecoderQbzCliTest.checkpoint(dir, true);
        List<List<String>> bad = List.of(
                List.of("--format", "rtn-w8g128", "--axbxp", "k2-x9d-w2d-full"),         // a field out of range
                List.of("--format", "rtn-w8g128", "--axbxp", "k2-x2d-w2d-sig9"),         // a depth that keeps every pair
                List.of("--format", "rtn-w8g128"),                                       // no configuration at all
                List.of("--format", "rtn-w4g128", "--axbxp", "k2-x2d-w2d-full"),         // weights Ax-BxP does not take
                List.of("--format", "rtn-w8g128", "--axbxp-budget", "1.5"));
        for (List<String> more : bad) {
            CliTest.Run r = CliTest.run(generate(ckpt.toString(), more.toArray(String[]::new)));
            assertEquals(2, r.exit(), more + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), more + ": " + r.err());
        }
        CliTest.Run notAx = CliTest.run("generate", "--model", ckpt.toString(), "--prompt", "x", "--steps", "2", "--format", "rtn-w8g128", "--axbxp", "k2-x2d-w2d-full");
        assertEquals(2, notAx.exit());
        assertTrue(notAx.err().contains("--axbxp: only with --activations axbxp"), notAx.err());

        // a container whose stored configuration does not parse, and one without configurations: one line naming the problem
        LlamaWeights w = Llama2cCheckpoint.load(ckpt);
        DecoderQuantizer.Result r = DecoderQuantizer.quantize(w, QuantRecipe.parse("rtn-w8g128"), List.of(), null);
        QuantizedDecoders.Checkpoint base = new QuantizedDecoders.Checkpoint("llama2c", QuantizedDecoders.checkpointSha256(ckpt),
                new TokenizerFile(TokenizerFile.LLAMA2C, Files.readAllBytes(dir.resolve("tokenizer.bin"))));
        Map<String, String> settings = new LinkedHashMap<>(r.settings());
        settings.put(AxBxpPlan.KEY_PREFIX + "layers.0.wq", "k2-x2d-bogus");
        Path corrupt = dir.resolve("corrupt.qbz"), plain = dir.resolve("plain.qbz");
        QuantizedDecoders.save(corrupt, w, base, new DecoderQuantizer.Result(r.recipe(), r.layers(), r.model(), r.calibrationError(), settings), null);
        QuantizedDecoders.save(plain, w, base, r, null);
        CliTest.Run c = CliTest.run(generate(corrupt.toString()));
        assertEquals(2, c.exit());
        assertEquals(1, c.err().strip().lines().count(), c.err());
        assertTrue(c.err().contains("axbxp.layers.0.wq") && c.err().contains("k2-x2d-bogus"), c.err());
        CliTest.Run p = CliTest.run(generate(plain.toString()));
        assertEquals(2, p.exit());
        assertEquals(1, p.err().strip().lines().count(), p.err());
        assertTrue(p.err().contains("no Ax-BxP configuration for layers.0.wq"), p.err());
        assertEquals(0, CliTest.run(generate(plain.toString(), "--axbxp", "k2-x3d-w3d-full")).exit(), "--axbxp fills a container's missing configurations");
    }
}
