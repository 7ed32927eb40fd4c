package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Progress and timing that tell the truth: calibration passes, too few runs, single-token array use. */
class ProgressAndTimingTest {
    @Test
    void gptqQuantizeShowsEachCalibrationPass(@TempDir Path dir) {
        CliTest.Run r = CliTest.run("quantize", "--model", "minilm", "--format", "gptq-w4g128", "--calibration", "4", "--out", dir.resolve("m.qbz").toString());
        assertEquals(0, r.exit(), r.err());
        for (int b = 1; b <= 6; b++) assertTrue(r.err().contains("quantize gptq-w4g128: block " + b + "/6: Hessians over 4 sentences"), r.err());
        CliTest.Run rtn = CliTest.run("quantize", "--model", "minilm", "--format", "rtn-w4g128", "--out", dir.resolve("r.qbz").toString());
        assertFalse(rtn.err().contains("Hessians"), "RTN calibrates nothing: " + rtn.err());
    }

    @Test
    void benchWarnsWhenRunsAreTooFewForItsPercentiles() {
        CliTest.Run r = CliTest.run("bench", "--device", "emulator", "--model", "minilm", "--format", "mxint8", "--runs", "5", "--warmup", "0");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("warning: with 5 runs, p95 and p99 are both the slowest run; p95 needs --runs 21 or more"), r.err());
    }

    @Test
    void estimateExplainsSingleTokenRowUse() {
        CliTest.Run r = CliTest.run("estimate", "--formats", "rtn-w4g128", "--tokens", "1,512", "--n", "4096", "--k", "4096");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("At M=1 the output-stationary array maps the tokens onto its rows: 1 of its 64 rows (1.6 %) work"), r.out());
        CliTest.Run many = CliTest.run("estimate", "--formats", "rtn-w4g128", "--tokens", "512", "--n", "4096", "--k", "4096");
        assertFalse(many.out().contains("maps the tokens onto its rows"), many.out());
    }
}
