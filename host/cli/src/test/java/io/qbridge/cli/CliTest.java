package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.report.LatencyChart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qbridge.model.bert.EncoderModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user runs it: exit codes, one-line errors, and JSON that matches the library's output. */
public class CliTest {
    /** What one in-process CLI call printed and returned. */
    public record Run(int exit, String out, String err) {}

    /** Runs the CLI in this JVM with stdout and stderr captured (used by other packages' CLI tests too). */
    public static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void unknownModelIsOneLineExit2() {
        Run r = run("info", "no-such-model");
        assertEquals(2, r.exit());
        assertEquals("qbridge: no-such-model: no such model (not bge-small or minilm, and no such .onnx file, llama2.c .bin or Hugging Face directory)",
                r.err().strip());
    }

    @Test
    void missingTextFileIsOneLineExit2(@TempDir Path dir) {
        Run r = run("embed", "--model", "minilm", "--text", dir.resolve("absent.txt").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().strip().endsWith("absent.txt: no such file"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void embedJsonHasOneVectorPerNonEmptyLineInOrder(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "The first sentence.\n\n   \nA second, different one.\nThird.\n");
        Run r = run("embed", "--model", "minilm", "--text", text.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals("minilm", json.get("model").asText());
        assertEquals(384, json.get("dim").asInt());
        assertEquals(3, json.get("embeddings").size());

        EncoderModel model = EncoderModel.load(EncoderModel.Builtin.MINILM);
        float[][] expected = model.embedIds(model.tokenize(List.of("The first sentence.", "A second, different one.", "Third."), null), 4096);
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < 384; i++) {
                assertEquals(expected[s][i], json.get("embeddings").get(s).get(i).floatValue(), 0f, "sentence " + s + " dim " + i);
            }
        }
    }

    @Test
    void benchWritesAPerLayerChart(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("layers.png");
        Run r = run("bench", "--device", "emulator", "--model", "minilm", "--format", "mxint8", "--runs", "1", "--warmup", "0", "--chart", png.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("p50"), r.out());
        byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(png), 8);
        assertTrue(java.util.Arrays.equals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, head), "a PNG file");
        assertEquals("3 ffn-down", LatencyChart.shortLabel("encoder.layer.3.output.dense.weight"));
        assertEquals("0 attn-out", LatencyChart.shortLabel("encoder.layer.0.attention.output.dense.weight"));
    }
}
