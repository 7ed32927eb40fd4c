package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qbridge.device.ActivationMode;
import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.AxBxpPlan;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.pipeline.DecoderEvaluator;
import io.qbridge.pipeline.DecoderSamples;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.RunStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Decoder perplexity through the device path: {@code eval --formats F:MODE} on a LLaMA checkpoint measures with the block
 * layers on the emulator in that activation mode, exactly what running the windows token by token through
 * {@code generate}'s decoder on the emulator gives.
 */
class DecoderDeviceEvalTest {
    /**
     * exp(mean NLL), computed here token by token on a decoder built as generate --device emulator builds it, but on an
     * emulator without the decode kernel: every layer call takes the tiled datapath, so eval's device rows are checked
     * against the other implementation of the same arithmetic, not against themselves.
     */
    private static double tokenByToken(LlamaWeights fp32, String recipe, ActivationMode mode, AxBxpPlan plan, List<int[]> sequences) {
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(mode).withAxBxp(plan), false)) {
            LlamaWeights w = AcceleratorModels.decoderOnDevice(fp32, io.qbridge.pipeline.QuantRecipe.parse(recipe), dev, new RunStats());
            int longest = sequences.stream().mapToInt(s -> s.length).max().orElseThrow();
            LlamaDecoder dec = new LlamaDecoder(w, longest - 1);
            double nll = 0;
            long n = 0;
            for (int[] seq : sequences) {
                for (int p = 0; p + 1 < seq.length; p++) {
                    float[] logits = dec.forward(seq[p], p);
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (float v : logits) max = Math.max(max, v);
                    for (float v : logits) sum += Math.exp(v - max);
                    nll -= logits[seq[p + 1]] - max - Math.log(sum);
                    n++;
                }
            }
            return Math.exp(nll / n);
        }
    }

    /** llama2.c's real stories260K (its 64-wide layers and K = 172 down projection; no tokenizer: self-generated text). */
    private static Path stories260K() {
        Path ckpt = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c/stories260K.bin");
        assumeTrue(java.nio.file.Files.isRegularFile(ckpt), "shared/golden/llama2c is absent (a user's clone): skipping");
        return ckpt;
    }

    @Test
    void aDeviceRowIsThePerplexityOfTheDecoderOnTheEmulatorToTheBit() throws Exception {
        LlamaWeights w = Llama2cCheckpoint.load(stories260K());
        List<int[]> seqs = DecoderSamples.sample(w, 2, 20, DecoderSamples.TEXT_SEED);
        List<int[]> calib = DecoderSamples.sample(w, 2, 20, DecoderSamples.CALIBRATION_SEED);
        double host = DecoderEvaluator.evaluate(w, io.qbridge.pipeline.QuantRecipe.parse("rtn-w8g128"), seqs, calib, null).perplexity();
        Map<String, Double> device = new HashMap<>();
        for (String spec : List.of("rtn-w8g128:int8-token", "rtn-w8g128:mxint8", "rtn-w8g128:axbxp=k2-x2d-w3d-full", "lobcq-c8-a64:lobcq")) {
            EvalCommand.Entry e = EvalCommand.Entry.parse(spec);
            List<EmulatorAccelerator> opened = new ArrayList<>();
            DecoderEvaluator.Row row;
            try {
                row = DecoderEvaluator.evaluate(w, e.recipe(), e.name(), seqs, calib, null, EvalCommand.onEmulator(e, calib, io.qbridge.axbxpsearch.AxBxpSearch.Method.FIRST_FIT, opened));
            } finally {
                opened.forEach(EmulatorAccelerator::close);
            }
            assertEquals(1, opened.size(), "one emulator per row");
            assertEquals(spec, row.recipe());
            AxBxpPlan plan = e.axbxp() == null ? EmulatorConfig.NO_AXBXP : AxBxpPlan.uniform(AxBxpPlan.parse(e.axbxp()));
            double reference = tokenByToken(w, e.recipe().name(), e.device(), plan, seqs);
            assertEquals(reference, row.perplexity(), 0.0, spec + ": bit for bit"); // exact: delta 0
            device.put(spec, row.perplexity());
        }
        // the mode is really applied: INT8 activations move the perplexity off the host row, the approximate product further
        assertNotEquals(host, device.get("rtn-w8g128:int8-token"));
        assertNotEquals(device.get("rtn-w8g128:int8-token"), device.get("rtn-w8g128:mxint8"));
        double dInt8 = Math.abs(device.get("rtn-w8g128:int8-token") - host), dAx = Math.abs(device.get("rtn-w8g128:axbxp=k2-x2d-w3d-full") - host);
        assertTrue(dAx > dInt8, "Ax-BxP with 2 x 3 blocks of 2 bits is further from the host than FxP8: " + device + " host " + host);
    }

    @Test
    void evalPrintsDeviceRowsAndTheAxBxpSearchOnADecoder() throws Exception {
        Path ckpt = stories260K();
        CliTest.Run r = CliTest.run("eval", "--model", ckpt.toString(), "--self-text", "2", "--window", "20", "--calib-sequences", "2",
                "--formats", "rtn-w8g128,rtn-w8g128:int8-token,rtn-w8g128:axbxp=0.05", "--markdown");
        assertEquals(0, r.exit(), r.err());
        Map<String, String[]> rows = DecoderEvalCliTest.rows(r.out());
        assertEquals(3, rows.size(), r.out());
        assertNotEquals(rows.get("rtn-w8g128")[5], rows.get("rtn-w8g128:int8-token")[5], r.out());
        // host columns (bits, SQNR, calib err) are the weights' and the same for the three rows
        for (int c = 1; c <= 4; c++) assertEquals(rows.get("rtn-w8g128")[c], rows.get("rtn-w8g128:axbxp=0.05")[c], r.out());
        assertTrue(r.out().contains("Rows FORMAT:MODE: the block layers run on the emulator"), r.out());
        // the per-layer search ran on the decoder's 35 block layers and printed its table against FxP8
        assertTrue(r.err().contains("layers.4.w3") && r.err().contains("all 35 layers against FxP8"), r.err());

        CliTest.Run bad = CliTest.run("eval", "--model", ckpt.toString(), "--self-text", "2", "--formats", "rtn-w8g128:axbxp=k2-x9d-w2d-full");
        assertEquals(2, bad.exit());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().contains("bad Ax-BxP configuration 'k2-x9d-w2d-full'"), bad.err());
        CliTest.Run wrongWeights = CliTest.run("eval", "--model", ckpt.toString(), "--self-text", "2", "--formats", "rtn-w4g128:axbxp=0.05");
        assertEquals(2, wrongWeights.exit());
        assertEquals(1, wrongWeights.err().strip().lines().count(), wrongWeights.err());
    }
}
