package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.pipeline.QuantRecipe;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The simulated official-MicroScopiQ recipes parse for eval, and every packing or device path refuses them in one line. */
class OfficialRecipeCliTest {
    private static final String WHY = "is a simulated (fake-quant) recipe with no packed byte layout";

    @Test
    void recipesParseAsSimulated() {
        QuantRecipe g = QuantRecipe.parse("microscopiq-w4-official");
        assertTrue(g.isSimulated());
        assertEquals(QuantRecipe.Algorithm.GPTQ, g.algorithm());
        assertEquals(2, QuantRecipe.parse("microscopiq-w2-official@rtn").simulated().base().bits());
        assertEquals(QuantRecipe.Algorithm.RTN, QuantRecipe.parse("microscopiq-w2-official@rtn").algorithm());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.format());
        assertTrue(e.getMessage().startsWith("microscopiq-w4-official " + WHY), e.getMessage());
    }

    @Test
    void quantizeOutRefusesWithoutWritingAFile(@TempDir Path dir) {
        Path out = dir.resolve("m.qbz");
        CliTest.Run r = CliTest.run("quantize", "--model", "minilm", "--format", "microscopiq-w4-official", "--out", out.toString());
        assertEquals(2, r.exit(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("microscopiq-w4-official " + WHY), r.err());
        assertFalse(Files.exists(out));
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "no partial output");
        } catch (java.io.IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    @Test
    void emulatorRefuses() {
        CliTest.Run r = CliTest.run("bench", "--device", "emulator", "--model", "minilm", "--format", "microscopiq-w2-official@rtn", "--runs", "1", "--warmup", "0");
        assertEquals(2, r.exit(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("microscopiq-w2-official@rtn " + WHY), r.err());
    }
}
