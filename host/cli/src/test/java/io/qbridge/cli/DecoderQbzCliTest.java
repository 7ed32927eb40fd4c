package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.model.llama.LlamaConfig;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.RandomCheckpointWriter;
import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.runtime.RunStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code qbridge quantize} of a LLaMA checkpoint into a {@code .qbz}, and {@code generate}, {@code eval} and
 * {@code info} on it: the container generates token for token what {@code generate --format F --device emulator}
 * generates from the checkpoint, with bit-identical logits; it is byte-reproducible; a damaged one is one line.
 */
class DecoderQbzCliTest {
    static final int VOCAB = 300;

    /** A random llama2.c checkpoint (dim 128, hidden 256, 2 blocks) with a fitting tokenizer.bin beside it. */
    static Path checkpoint(Path dir, boolean shared) throws Exception {
        Path bin = dir.resolve("tiny.bin");
        RandomCheckpointWriter.write(bin, LlamaConfig.llama2c(128, 256, 2, 4, 2, VOCAB, 32, shared), 9);
        Files.write(dir.resolve("tokenizer.bin"), TokenizerFitTest.tokenizerBin(VOCAB));
        return bin;
    }

    private static String[] generate(String model, String... more) {
        String[] common = {"generate", "--model", model, "--prompt", "w260 ab", "--steps", "20", "--temperature", "0", "--device", "emulator"};
        String[] all = Arrays.copyOf(common, common.length + more.length);
        System.arraycopy(more, 0, all, common.length, more.length);
        return all;
    }

    @Test
    void aContainerGeneratesWhatTheQuantizedCheckpointGenerates(@TempDir Path dir) throws Exception {
        Path ckpt = checkpoint(dir, true);
        Path a = dir.resolve("a.qbz"), b = dir.resolve("b.qbz");
        CliTest.Run q = CliTest.run("quantize", "--model", ckpt.toString(), "--format", "mxint8", "--out", a.toString());
        assertEquals(0, q.exit(), q.err());
        assertTrue(q.out().startsWith("wrote " + a + ": mxint8 on " + ckpt + " (2 blocks), 14 packed layers"), q.out());
        // the same checkpoint and recipe give the same bytes, also when the checkpoint is a copy under another name
        Path copy = Files.copy(ckpt, dir.resolve("other-name.bin"));
        assertEquals(0, CliTest.run("quantize", "--model", copy.toString(), "--tokenizer", dir.resolve("tokenizer.bin").toString(), "--format", "mxint8",
                "--out", b.toString()).exit());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));

        CliTest.Run fromCkpt = CliTest.run(generate(ckpt.toString(), "--format", "mxint8"));
        CliTest.Run fromQbz = CliTest.run(generate(a.toString()));
        assertEquals(0, fromCkpt.exit(), fromCkpt.err());
        assertEquals(0, fromQbz.exit(), fromQbz.err());
        assertEquals(fromCkpt.out(), fromQbz.out());
        assertTrue(fromQbz.out().length() > "w260 ab".length() + 5, fromQbz.out());
        assertTrue(fromQbz.err().contains("in mxint8 (from the container) resident on"), fromQbz.err());

        // the container runs without the checkpoint and its tokenizer
        Files.delete(ckpt);
        Files.delete(dir.resolve("tokenizer.bin"));
        assertEquals(fromCkpt.out(), CliTest.run(generate(a.toString())).out());
    }

    @Test
    void gptqActOrderWithThePackedClassifierMatchesToo(@TempDir Path dir) throws Exception {
        Path ckpt = checkpoint(dir, false);
        Path qbz = dir.resolve("g.qbz");
        String recipe = "rtn-w4g128@gptq-act";
        CliTest.Run q = CliTest.run("quantize", "--model", ckpt.toString(), "--format", recipe, "--calib-sequences", "4", "--classifier-on-device",
                "--out", qbz.toString());
        assertEquals(0, q.exit(), q.err());
        assertTrue(q.out().contains("15 packed layers (classifier included)") && q.out().contains("gptq (4 calibration sequences)"), q.out());
        // stderr is not a terminal here: plain progress lines, one per block's Hessian capture
        for (int blk = 1; blk <= 2; blk++) assertTrue(q.err().contains(recipe + " (GPTQ, 4 sequences): block " + blk + "/2: Hessians over 4 sequences"), q.err());
        CliTest.Run fromCkpt = CliTest.run(generate(ckpt.toString(), "--format", recipe, "--calib-sequences", "4", "--classifier-on-device"));
        CliTest.Run fromQbz = CliTest.run(generate(qbz.toString()));
        assertEquals(0, fromQbz.exit(), fromQbz.err());
        assertEquals(fromCkpt.out(), fromQbz.out());
        assertTrue(fromQbz.err().contains("classifier too (packed in the container)"), fromQbz.err());

        // the logits themselves, bit for bit, through the one path generate builds both with
        LlamaWeights w = DecoderCheckpoints.load(ckpt);
        var tok = DecoderCheckpoints.tokenizer(ckpt, null, VOCAB);
        QuantRecipe r = QuantRecipe.parse(recipe);
        DecoderQuantizer.Result res = DecoderCheckpoints.quantize(w, r, DecoderCheckpoints.calibration(null, 4, tok, w));
        QuantizedDecoders.Loaded loaded = QuantizedDecoders.load(qbz);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(new EmulatorConfig(PerfConfig.preset("u55c"), EmulatorConfig.DEFAULT_FORMATS))) {
            LlamaWeights a = DecoderCheckpoints.onDevice(w, res.layers(), DecoderQuantizer.quantizeClassifier(w, r.format()), dev, new RunStats());
            LlamaWeights b = DecoderCheckpoints.onDevice(loaded.model(), loaded.blockLayers(), loaded.classifier(), dev, new RunStats());
            LlamaDecoder da = new LlamaDecoder(a), db = new LlamaDecoder(b);
            int[] tokens = tok.encode("w260 ab w261", true, false);
            for (int p = 0; p < tokens.length; p++) {
                float[] la = da.forward(tokens[p], p), lb = db.forward(tokens[p], p);
                for (int i = 0; i < VOCAB; i++) assertEquals(Float.floatToRawIntBits(la[i]), Float.floatToRawIntBits(lb[i]), "position " + p + " logit " + i);
            }
        }
    }

    @Test
    void evalOfTheContainerIsTheCheckpointsRowForItsFormat(@TempDir Path dir) throws Exception {
        Path ckpt = checkpoint(dir, true);
        Path qbz = dir.resolve("m.qbz");
        assertEquals(0, CliTest.run("quantize", "--model", ckpt.toString(), "--format", "mxint8", "--out", qbz.toString()).exit());
        Path text = Files.writeString(dir.resolve("t.txt"), "w270 w280 ab cd\nw290 the end\n");
        CliTest.Run fromCkpt = CliTest.run("eval", "--model", ckpt.toString(), "--formats", "mxint8", "--text", text.toString(), "--window", "8",
                "--calib-sequences", "4"); // RTN rows are calibrated only to measure their error: the layers are the same
        CliTest.Run fromQbz = CliTest.run("eval", "--model", qbz.toString(), "--text", text.toString(), "--window", "8");
        assertEquals(0, fromCkpt.exit(), fromCkpt.err());
        assertEquals(0, fromQbz.exit(), fromQbz.err());
        assertEquals(perplexity(fromCkpt.out()), perplexity(fromQbz.out()));
        assertNotEquals("", perplexity(fromQbz.out()));

        // through the device: the container's layers on the emulator in a mode are the checkpoint's FORMAT:MODE row
        for (String mode : List.of("int8-token", "mxint8")) {
            CliTest.Run ckptRow = CliTest.run("eval", "--model", ckpt.toString(), "--formats", "mxint8:" + mode, "--text", text.toString(), "--window", "8",
                    "--calib-sequences", "4");
            CliTest.Run qbzRow = CliTest.run("eval", "--model", qbz.toString(), "--text", text.toString(), "--window", "8", "--activations", mode);
            assertEquals(0, ckptRow.exit(), ckptRow.err());
            assertEquals(0, qbzRow.exit(), qbzRow.err());
            String onDevice = perplexity(qbzRow.out(), "mxint8:" + mode);
            assertEquals(perplexity(ckptRow.out(), "mxint8:" + mode), onDevice, mode);
            assertNotEquals(perplexity(fromQbz.out()), onDevice, mode + " activations change the perplexity");
        }
        CliTest.Run badMode = CliTest.run("eval", "--model", qbz.toString(), "--text", text.toString(), "--activations", "fp8");
        assertEquals(2, badMode.exit());
        assertEquals("qbridge: --activations: unknown activation mode 'fp8' (valid: int8-token, mxint8, lobcq, axbxp)", badMode.err().strip());
        CliTest.Run noConfigs = CliTest.run("eval", "--model", qbz.toString(), "--text", text.toString(), "--activations", "axbxp");
        assertEquals(2, noConfigs.exit());
        assertTrue(noConfigs.err().strip().startsWith("qbridge: --activations axbxp: " + qbz + ": stores no Ax-BxP configuration for layers.0."), noConfigs.err());
        CliTest.Run onCkpt = CliTest.run("eval", "--model", ckpt.toString(), "--text", text.toString(), "--activations", "mxint8");
        assertEquals(2, onCkpt.exit());
        assertEquals("qbridge: " + EvalCommand.ACTIVATIONS_ONLY_FOR_A_CONTAINER, onCkpt.err().strip());
    }

    /** The perplexity cell of the mxint8 row. */
    private static String perplexity(String out) {
        return perplexity(out, "mxint8");
    }

    /** The perplexity cell of the row named {@code format}. */
    private static String perplexity(String out, String format) {
        String row = out.lines().filter(l -> l.startsWith(format + " ")).findFirst().orElseThrow(() -> new AssertionError(out));
        String[] cells = row.trim().split("\\s+");
        return cells[cells.length - 2];
    }

    @Test
    void infoDescribesADecoderContainer(@TempDir Path dir) throws Exception {
        Path ckpt = checkpoint(dir, true);
        Path qbz = dir.resolve("m.qbz");
        assertEquals(0, CliTest.run("quantize", "--model", ckpt.toString(), "--format", "mxint8", "--out", qbz.toString()).exit());
        CliTest.Run r = CliTest.run("info", qbz.toString());
        assertEquals(0, r.exit(), r.err());
        String sha = QuantizedDecoders.checkpointSha256(ckpt);
        assertTrue(r.out().contains("base model   llama-" + sha.substring(0, 12) + " (a llama decoder from a llama2c checkpoint, carried whole"), r.out());
        assertTrue(r.out().contains("base sha256  " + sha), r.out());
        assertTrue(r.out().contains("architecture LLaMA decoder, layers 2, dim 128, hidden 256, heads 4, kv heads 2, vocab 300, sequence 32"), r.out());
        assertTrue(r.out().contains("tokenizer    tokenizer.bin carried (" + String.format("%,d", Files.size(dir.resolve("tokenizer.bin")))), r.out());
        assertTrue(r.out().contains("over 14 packed layers"), r.out());
        for (String t : List.of("token_embedding", "layers.1.w3", "final_norm", "tokenizer.bin")) assertTrue(r.out().contains(t), t);
        CliTest.Run j = CliTest.run("info", qbz.toString(), "--json");
        assertEquals(0, j.exit(), j.err());
        var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(j.out());
        assertEquals("llama2c", root.get("decoder").get("checkpoint").asText());
        assertEquals(300, root.get("decoder").get("vocabSize").asInt());
        assertEquals(io.qbridge.files.Sha256.hex(Files.readAllBytes(dir.resolve("tokenizer.bin"))), root.get("decoder").get("tokenizerSha256").asText());
    }

    @Test
    void aDamagedContainerIsOneLineAndPrintsNothing(@TempDir Path dir) throws Exception {
        Path ckpt = checkpoint(dir, true);
        Path qbz = dir.resolve("m.qbz");
        assertEquals(0, CliTest.run("quantize", "--model", ckpt.toString(), "--format", "mxint8", "--out", qbz.toString()).exit());
        byte[] bytes = Files.readAllBytes(qbz);
        Path cut = Files.write(dir.resolve("cut.qbz"), Arrays.copyOf(bytes, bytes.length / 2));
        for (String[] args : List.of(generate(cut.toString()), new String[] {"eval", "--model", cut.toString(), "--text", ckpt.toString()},
                new String[] {"info", cut.toString()})) {
            CliTest.Run r = CliTest.run(args);
            assertEquals(2, r.exit(), args[0]);
            assertEquals("", r.out(), args[0] + ": no partial output");
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("(truncated)"), r.err());
        }
        byte[] flipped = bytes.clone();
        flipped[bytes.length / 2] ^= 0x40;
        Path bad = Files.write(dir.resolve("bad.qbz"), flipped);
        CliTest.Run r = CliTest.run(generate(bad.toString()));
        assertEquals(2, r.exit());
        assertEquals("", r.out());
        assertTrue(r.err().strip().matches("qbridge: .*bad\\.qbz: tensor '[^']+' fails its sha256 check \\(corrupt file\\)"), r.err());

        // options the container already fixed are refused, not ignored
        CliTest.Run f = CliTest.run(generate(qbz.toString(), "--format", "mxint8"));
        assertEquals(2, f.exit());
        assertEquals("qbridge: --format: " + qbz + " is a .qbz, quantized when it was written; leave --format out", f.err().strip());
        CliTest.Run e = CliTest.run("eval", "--model", qbz.toString(), "--text", ckpt.toString(), "--formats", "fineq");
        assertEquals(2, e.exit());
        assertTrue(e.err().strip().startsWith("qbridge: --formats: " + qbz + " is a .qbz with its own tokenizer and layers"), e.err());
        // quantizing a container is refused before anything is written
        Path again = dir.resolve("again.qbz");
        CliTest.Run qq = CliTest.run("quantize", "--model", qbz.toString(), "--format", "mxint8", "--out", again.toString());
        assertEquals(2, qq.exit());
        assertFalse(Files.exists(again));
    }
}
