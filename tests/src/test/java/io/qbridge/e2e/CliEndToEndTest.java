package io.qbridge.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qbridge.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The assembled CLI (host/target/qbridge-host-*.jar with its lib/ directory, as ./qbridge runs it) in a
 * separate JVM: the jar's manifest class path, the model resources and the exit codes, end to end.
 */
class CliEndToEndTest {
    static final Path ROOT = Path.of(System.getProperty("qbridge.root", "..")).toAbsolutePath().normalize();

    record Result(int exit, String out, String err) {}

    /** The assembled CLI jar under host/cli/target. */
    static Path jar() throws IOException {
        try (var s = Files.list(ROOT.resolve("host/cli/target"))) {
            return s.filter(p -> p.getFileName().toString().matches("qbridge-cli-.*(?<!-tests)\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("host jar not built under " + ROOT.resolve("host/cli/target")));
        }
    }

    static Result qbridge(String... args) throws IOException, InterruptedException {
        Path jar = jar();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Dqbridge.threads=2", "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "qbridge " + String.join(" ", args) + " did not finish");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void demoQuantizesRunsOnTheEmulatorAndAgreesWithFp32() throws Exception {
        Result r = qbridge("demo");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("using the emulator"), r.err());
        assertTrue(r.out().contains("Cosine similarity"), r.out());
        assertTrue(r.out().contains("sentences/s"), r.out());
        assertTrue(r.out().contains("device (modelled"), r.out());
        // S1 and S2 are paraphrases, S1 and S3 are not: the real model must say so, on the host and on the device.
        String row1 = r.out().lines().filter(l -> l.strip().startsWith("S1 ") && l.contains("|") && l.contains("1.000")).findFirst().orElseThrow();
        String[] halves = row1.strip().substring(2).split("\\|");
        for (String half : halves) {
            String[] cells = half.strip().split("\\s+");
            assertEquals("1.000", cells[0], row1);
            assertTrue(Double.parseDouble(cells[1]) > Double.parseDouble(cells[2]) + 0.2, row1);
        }
        String agreement = r.out().lines().filter(l -> l.startsWith("Agreement")).findFirst().orElseThrow();
        double meanCos = Double.parseDouble(agreement.replaceAll(".*mean cosine ([0-9.]+).*", "$1"));
        assertTrue(meanCos > 0.97, agreement);
    }

    @Test
    void embedJsonFromTheJar(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "Parliament adopted the resolution.\nThe vote is closed.\n");
        Result r = qbridge("embed", "--model", "bge-small", "--text", text.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(2, json.get("embeddings").size());
        double norm = 0;
        for (JsonNode v : json.get("embeddings").get(0)) norm += v.asDouble() * v.asDouble();
        assertEquals(1.0, norm, 1e-5);
    }

    @Test
    void badInputIsOneLineAndExit2(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("broken.bin");
        Files.write(bad, new byte[] {1, 2, 3});
        Result r = qbridge("generate", "--model", bad.toString(), "--tokenizer", bad.toString());
        assertEquals(2, r.exit());
        List<String> lines = r.err().lines().filter(l -> l.startsWith("qbridge:")).toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).contains("broken.bin"), lines.get(0));
        assertTrue(!r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
    }

    @Test
    void greedyGenerationReproducesLlama2c() throws Exception {
        Path golden = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c");
        assumeTrue(Files.isDirectory(golden), "shared/golden/llama2c is absent (a user's clone): skipping the llama2.c comparison");
        Result r = qbridge("generate", "--model", golden.resolve("synth-a.bin").toString(), "--tokenizer", golden.resolve("tokenizer.bin").toString(),
                "--prompt", "Once upon a time, in a quiet village", "--steps", "24", "--temperature", "0");
        assertEquals(0, r.exit(), r.err());
        // llama2.c prints every piece after the first position; the golden ids are exactly those tokens.
        Llama2cTokenizer tok = Llama2cTokenizer.load(golden.resolve("tokenizer.bin"), 32000);
        List<Integer> ids = Files.readAllLines(golden.resolve("synth-a.ids.txt")).stream().filter(s -> !s.isBlank()).map(s -> Integer.parseInt(s.strip())).toList();
        var bytes = new java.io.ByteArrayOutputStream();
        int prev = 1;
        for (int id : ids) {
            bytes.writeBytes(tok.decodeBytes(prev, id));
            prev = id;
        }
        assertEquals(bytes.toString(StandardCharsets.UTF_8).strip(), r.out().strip());
        assertTrue(r.err().contains("achieved tok/s"), r.err());
    }
}
