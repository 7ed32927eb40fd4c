package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --activations} reaches the device: the JSON names the mode, the embeddings change, a bad name is one clear line. */
class ActivationOptionCliTest {
    @Test
    void runWithMxint8ActivationsReportsTheModeAndDiffersFromInt8PerToken(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "The accelerator multiplies low-bit weights with 8-bit activations.\nA second sentence.\n");
        ObjectMapper om = new ObjectMapper();
        CliTest.Run mx = CliTest.run("run", "--device", "emulator", "--model", "minilm", "--format", "mxfp4@rtn", "--activations", "mxint8",
                "--text", text.toString(), "--json");
        assertEquals(0, mx.exit(), mx.err());
        CliTest.Run int8 = CliTest.run("run", "--device", "emulator", "--model", "minilm", "--format", "mxfp4@rtn", "--text", text.toString(), "--json");
        assertEquals(0, int8.exit(), int8.err());
        JsonNode a = om.readTree(mx.out()), b = om.readTree(int8.out());
        assertTrue(a.get("device").get("name").asText().contains("mxint8 activations"), a.get("device").toString());
        assertTrue(b.get("device").get("name").asText().contains("int8-token activations"), b.get("device").toString());
        double dot = 0, na = 0, nb = 0;
        boolean same = true;
        for (int s = 0; s < 2; s++)
            for (int i = 0; i < 384; i++) {
                double x = a.get("embeddings").get(s).get(i).asDouble(), y = b.get("embeddings").get(s).get(i).asDouble();
                same &= x == y;
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
        assertTrue(!same, "the two activation modes gave identical embeddings");
        assertTrue(dot / Math.sqrt(na * nb) > 0.99, "both modes embed the same sentences: cosine " + dot / Math.sqrt(na * nb));
        // the modelled traffic: one E8M0 byte per 32 activations instead of one fp32 per token
        assertTrue(a.get("timing").get("bytesMoved").asLong() != b.get("timing").get("bytesMoved").asLong());
    }

    @Test
    void unknownModeIsOneLineExit2ListingTheValidOnes(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "x\n");
        for (String cmd : new String[] {"run", "bench", "demo"}) {
            CliTest.Run r = cmd.equals("run")
                    ? CliTest.run("run", "--device", "emulator", "--model", "minilm", "--activations", "fp8", "--text", text.toString())
                    : CliTest.run(cmd, "--device", "emulator", "--model", "minilm", "--activations", "fp8");
            assertEquals(2, r.exit(), cmd + ": " + r.err());
            assertEquals("qbridge: --activations: unknown activation mode 'fp8' (valid: int8-token, mxint8, lobcq, axbxp)", r.err().strip(), cmd);
        }
    }
}
