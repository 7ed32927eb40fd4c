package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LO-BCQ from the command line: quantize to a .qbz, run it W4A4 (--activations lobcq) and W4A8, refuse lobcq activations on other weights. */
class LoBcqCliTest {
    @Test
    void quantizeThenRunW4a4AndW4a8(@TempDir Path dir) throws Exception {
        Path qbz = dir.resolve("m.qbz"), text = dir.resolve("in.txt");
        Files.writeString(text, "Block-clustered codebooks quantize weights and activations to four bits.\nA second sentence.\n");
        CliTest.Run q = CliTest.run("quantize", "--model", "minilm", "--format", "lobcq-c8-a64", "--out", qbz.toString());
        assertEquals(0, q.exit(), q.err());
        ObjectMapper om = new ObjectMapper();
        CliTest.Run a4 = CliTest.run("run", "--device", "emulator", "--model", qbz.toString(), "--activations", "lobcq", "--text", text.toString(), "--json");
        assertEquals(0, a4.exit(), a4.err());
        CliTest.Run a8 = CliTest.run("run", "--device", "emulator", "--model", qbz.toString(), "--text", text.toString(), "--json");
        assertEquals(0, a8.exit(), a8.err());
        JsonNode x = om.readTree(a4.out()), y = om.readTree(a8.out());
        assertTrue(x.get("device").get("name").asText().contains("lobcq activations"), x.get("device").toString());
        double dot = 0, nx = 0, ny = 0;
        for (int s = 0; s < 2; s++)
            for (int i = 0; i < 384; i++) {
                double u = x.get("embeddings").get(s).get(i).asDouble(), v = y.get("embeddings").get(s).get(i).asDouble();
                dot += u * v;
                nx += u * u;
                ny += v * v;
            }
        double cos = dot / Math.sqrt(nx * ny);
        assertTrue(cos > 0.95 && cos < 1, "W4A4 and W4A8 embed the same sentences, not identically: cosine " + cos);
        CliTest.Run bad = CliTest.run("run", "--device", "emulator", "--model", "minilm", "--format", "mxfp4@rtn", "--activations", "lobcq", "--text", text.toString());
        assertTrue(bad.exit() != 0 && bad.err().contains("--activations lobcq needs LO-BCQ weights"), bad.err());
    }
}
