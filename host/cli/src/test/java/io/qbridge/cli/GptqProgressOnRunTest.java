package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run} (and {@code bench}, through the same {@link DeviceModelOptions#prepare}) with a GPTQ-path recipe shows each
 * block's Hessian capture as {@code quantize} does: stderr is not a terminal in a test, so as plain lines.
 */
class GptqProgressOnRunTest {
    @Test
    void runWithAGptqRecipeShowsEachCalibrationPass(@TempDir Path dir) throws Exception {
        Path text = Files.writeString(dir.resolve("s.txt"), "One sentence to embed.\n");
        CliTest.Run r = CliTest.run("run", "--device", "emulator", "--model", "minilm", "--format", "gptq-w4g128", "--text", text.toString());
        assertEquals(0, r.exit(), r.err());
        for (int b = 1; b <= 6; b++) assertTrue(r.err().contains("quantize gptq-w4g128: block " + b + "/6: Hessians over 128 sentences"), r.err());
        assertTrue(r.err().contains("quantize gptq-w4g128: 36/36 (100%)"), r.err());
        CliTest.Run rtn = CliTest.run("run", "--device", "emulator", "--model", "minilm", "--format", "mxint8", "--text", text.toString());
        assertEquals(0, rtn.exit(), rtn.err());
        assertFalse(rtn.err().contains("Hessians"), "RTN calibrates nothing: " + rtn.err());
    }
}
