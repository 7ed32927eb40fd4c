package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qbridge.data.EvalCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code qbridge eval} and {@code generate --format} on LLaMA checkpoints with GPTQ-path recipes, end to end. */
class DecoderEvalCliTest {
    private static Path golden() {
        Path g = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c");
        assumeTrue(Files.isDirectory(g), "shared/golden/llama2c is absent (a user's clone): skipping");
        return g;
    }

    /** Markdown rows by format: the cells after the name. */
    static Map<String, String[]> rows(String out) {
        Map<String, String[]> rows = new HashMap<>();
        for (String line : out.lines().toList()) {
            if (!line.startsWith("| ") || line.startsWith("| format") || line.startsWith("| ---")) continue;
            String[] c = line.substring(2, line.length() - 2).split(" \\| ");
            rows.put(c[0], c);
        }
        return rows;
    }

    @Test
    void evalWithGptqRecipesOnRealTextCalibratedOnEuroparl(@TempDir Path dir) throws Exception {
        Path g = golden();
        Path text = dir.resolve("held-out.txt");
        Files.write(text, EvalCorpus.split(EvalCorpus.Split.HELD_OUT).subList(0, 12));
        CliTest.Run r = CliTest.run("eval", "--model", g.resolve("synth-a.bin").toString(), "--tokenizer", g.resolve("tokenizer.bin").toString(),
                "--text", text.toString(), "--window", "64", "--calib-sequences", "16", "--formats", "fp32,rtn-w4g128,gptq-w4g128,microscopiq-w4,fineq@gptq", "--markdown");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("Calibration (GPTQ-path recipes, and the calib err column) on the Europarl calibration split, 16 sequences"), r.out());
        Map<String, String[]> rows = rows(r.out());
        assertEquals(5, rows.size(), r.out());
        for (String f : new String[] {"fp32", "rtn-w4g128", "gptq-w4g128", "microscopiq-w4", "fineq@gptq"}) {
            double ppl = Double.parseDouble(rows.get(f)[5]);
            assertTrue(Double.isFinite(ppl) && ppl > 1, f + ": " + ppl);
        }
        // every quantized row reports its calibration error; GPTQ's is below RTN's in the same format
        assertEquals("-", rows.get("fp32")[4]);
        double gptqErr = Double.parseDouble(rows.get("gptq-w4g128")[4]), rtnErr = Double.parseDouble(rows.get("rtn-w4g128")[4]);
        assertTrue(gptqErr > 0 && gptqErr < rtnErr, r.out());
        assertEquals(rows.get("rtn-w4g128")[1], rows.get("gptq-w4g128")[1], "same format, same bits/weight");
    }

    @Test
    void evalWithSelfGeneratedTextWhenTheTokenizerIsMissing() {
        Path g = golden();
        CliTest.Run r = CliTest.run("eval", "--model", g.resolve("stories260K.bin").toString(), "--self-text", "4", "--window", "48",
                "--calib-sequences", "8", "--formats", "fp32,mxint8,gptq-w4g128,microscopiq-w4", "--markdown");
        assertEquals(0, r.exit(), r.err());
        Map<String, String[]> rows = rows(r.out());
        double fp = Double.parseDouble(rows.get("fp32")[5]), int8 = Double.parseDouble(rows.get("mxint8")[5]);
        double w4 = Double.parseDouble(rows.get("gptq-w4g128")[5]);
        assertTrue(fp > 1 && Math.abs(int8 - fp) < Math.abs(w4 - fp), r.out());
        // stories260K's FFN width (172) is not a multiple of MicroScopiQ's block of 16: a row saying so, not a crash
        assertTrue(rows.get("microscopiq-w4")[5].contains("172"), r.out());
    }

    @Test
    void generateRunsAGptqQuantizedDecoderOnTheEmulator(@TempDir Path dir) throws Exception {
        Path g = golden();
        Path calib = dir.resolve("calib.txt");
        Files.writeString(calib, "Once upon a time there was a little girl.\nThe cat sat on the mat and looked at the sun.\n");
        CliTest.Run r = CliTest.run("generate", "--model", g.resolve("synth-a.bin").toString(), "--tokenizer", g.resolve("tokenizer.bin").toString(),
                "--prompt", "Once upon a time", "--steps", "12", "--temperature", "0", "--format", "gptq-w4g128", "--device", "emulator",
                "--calib", calib.toString(), "--calib-sequences", "2");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("Once upon a time"), r.out());
        assertTrue(r.err().contains("device (modelled"), r.err());

        CliTest.Run tooFew = CliTest.run("generate", "--model", g.resolve("synth-a.bin").toString(), "--tokenizer", g.resolve("tokenizer.bin").toString(),
                "--prompt", "x", "--steps", "4", "--format", "gptq-w4g128", "--device", "emulator", "--calib", calib.toString(), "--calib-sequences", "5");
        assertEquals(2, tooFew.exit());
        assertTrue(tooFew.err().contains("calib.txt") && tooFew.err().contains("5 requested"), tooFew.err());
    }
}
