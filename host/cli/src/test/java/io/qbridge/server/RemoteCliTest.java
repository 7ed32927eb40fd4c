package io.qbridge.server;

import io.qbridge.cli.CliTest;
import io.qbridge.cli.CliTest.Run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client commands as a user runs them against a live server: output, exit codes, one-line errors. */
class RemoteCliTest {

    @TempDir static Path dir;
    static JobServer server;
    static String addr;

    @BeforeAll
    static void start() throws Exception {
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), null).withWorkers(1));
        addr = "127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    /**
     * Runs the CLI in this JVM. The server runs in this JVM too and logs its job transitions to the same stderr
     * (ServerLog: one line each, starting with an ISO instant), possibly late, while a later command's stderr is
     * being captured; those lines are the server's, not the client's, so they are dropped here.
     */
    static Run run(String... args) {
        Run r = CliTest.run(args);
        String clientErr = r.err().lines().filter(l -> !SERVER_LOG_LINE.matcher(l).lookingAt()).map(l -> l + "\n").collect(java.util.stream.Collectors.joining());
        return new Run(r.exit(), r.out(), clientErr);
    }

    private static final java.util.regex.Pattern SERVER_LOG_LINE = java.util.regex.Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}[.0-9]*Z ");

    @Test
    void remoteRunJsonIsExactlyWhatLocalEmbedPrints() throws Exception {
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "The first sentence.\n\nA second, different one.\nThird.\n");
        Run local = run("embed", "--model", "minilm", "--text", text.toString(), "--json");
        Run remote = run("submit", "--server", addr, "run", "--model", "minilm", "--text", text.toString(), "--json", "--wait");
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err());
        assertEquals(local.out(), remote.out());
        assertTrue(remote.err().contains("SUCCEEDED"), remote.err());
    }

    @Test
    void quantizeDetachedThenJobJobsAndFetch() throws Exception {
        Run submitted = run("submit", "--server", addr, "quantize", "--model", "minilm", "--format", "fineq", "--detach");
        assertEquals(0, submitted.exit(), submitted.err());
        String id = submitted.out().strip();
        assertTrue(id.matches("j-[0-9a-f]{16}"), id);

        Run waited = run("submit", "--server", addr, "quantize", "--model", "minilm", "--format", "fineq", "--out", dir.toString());
        assertEquals(0, waited.exit(), waited.err());
        assertTrue(waited.out().contains("wrote " + dir.resolve("minilm-fineq.qbz")), waited.out());

        Run listed = run("jobs", "--server", addr, "--state", "succeeded,queued,running");
        assertEquals(0, listed.exit(), listed.err());
        assertTrue(listed.out().contains(id), listed.out());

        Path fetchDir = Files.createDirectories(dir.resolve("fetched"));
        io.qbridge.client.QbridgeClient c = io.qbridge.client.QbridgeClient.connect(addr, null);
        try {
            TestServers.awaitState(c, id, io.qbridge.protocol.v1.JobState.JOB_STATE_SUCCEEDED, 30_000);
        } finally {
            c.close();
        }
        Run shown = run("job", "--server", addr, id);
        assertEquals(0, shown.exit(), shown.err());
        assertTrue(shown.out().contains("state     SUCCEEDED"), shown.out());
        Run fetched = run("fetch", "--server", addr, id, "--out", fetchDir.toString());
        assertEquals(0, fetched.exit(), fetched.err());
        // the same recipe on the same model gives the same container, whichever job made it
        assertEquals(-1, Files.mismatch(dir.resolve("minilm-fineq.qbz"), fetchDir.resolve("minilm-fineq.qbz")));
        assertEquals(0, run("cancel", "--server", addr, id).exit(), "cancelling a finished job is a no-op");
    }

    @Test
    void remoteRunTakesTheActivationModeAsTheLocalRunDoes() throws Exception {
        Path text = dir.resolve("act.txt");
        Files.writeString(text, "Activations enter the datapath as MX-INT8 blocks.\nA second sentence.\n");
        String[] opts = {"--model", "minilm", "--format", "mxfp4@rtn", "--device", "emulator", "--text", text.toString(), "--json"};
        Run local = run(concat(new String[] {"run", "--activations", "mxint8"}, opts));
        Run remote = run(concat(new String[] {"submit", "--server", addr, "run", "--activations", "mxint8"}, opts));
        Run remoteInt8 = run(concat(new String[] {"submit", "--server", addr, "run"}, opts));
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err());
        assertEquals(0, remoteInt8.exit(), remoteInt8.err());
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        assertEquals(json.readTree(local.out()).get("embeddings"), json.readTree(remote.out()).get("embeddings"), "the server's MX-INT8 run is the local one");
        org.junit.jupiter.api.Assertions.assertNotEquals(json.readTree(remote.out()).get("embeddings"), json.readTree(remoteInt8.out()).get("embeddings"),
                "the mode reached the server's emulator");

        Run bad = run("submit", "--server", addr, "run", "--model", "minilm", "--device", "emulator", "--activations", "fp8", "--text", text.toString());
        assertEquals(2, bad.exit(), bad.err());
        assertEquals("qbridge: --activations: unknown activation mode 'fp8' (valid: int8-token, mxint8, lobcq, axbxp)", bad.err().strip());
        Run hostPath = run("submit", "--server", addr, "run", "--model", "minilm", "--activations", "mxint8", "--text", text.toString());
        assertEquals(2, hostPath.exit(), hostPath.err());
        assertTrue(hostPath.err().startsWith("qbridge: " + addr + ": INVALID_ARGUMENT: run.activations: only with device emulator, xrt or auto"), hostPath.err());
    }

    private static Path axbxpContainer;

    /** MiniLM quantized with a per-layer Ax-BxP search (made once, shared by the Ax-BxP tests). */
    static synchronized Path axbxpContainer() {
        if (axbxpContainer != null) return axbxpContainer;
        Path qbz = dir.resolve("minilm-axbxp.qbz");
        Run q = run("quantize", "--model", "minilm", "--format", "rtn-w8g128", "--axbxp-budget", "0.1", "--calibration", "4", "--out", qbz.toString());
        assertEquals(0, q.exit(), q.err());
        assertTrue(q.err().contains("all 36 layers against FxP8"), q.err());
        return axbxpContainer = qbz;
    }

    @Test
    void remoteAxBxpRunOfAContainerIsBitIdenticalToTheLocalOne() throws Exception {
        Path text = dir.resolve("axbxp.txt");
        Files.writeString(text, "Each product keeps only some of its bit blocks.\nA second sentence.\n");
        Path qbz = axbxpContainer();
        String[] opts = {"--model", qbz.toString(), "--device", "emulator", "--text", text.toString(), "--json"};
        Run local = run(concat(new String[] {"run", "--activations", "axbxp"}, opts));
        Run remote = run(concat(new String[] {"submit", "--server", addr, "run", "--activations", "axbxp"}, opts));
        Run remoteInt8 = run(concat(new String[] {"submit", "--server", addr, "run"}, opts));
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err());
        assertEquals(0, remoteInt8.exit(), remoteInt8.err());
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        assertEquals(json.readTree(local.out()).get("embeddings"), json.readTree(remote.out()).get("embeddings"), "the server's Ax-BxP run is the local one");
        org.junit.jupiter.api.Assertions.assertNotEquals(json.readTree(remote.out()).get("embeddings"), json.readTree(remoteInt8.out()).get("embeddings"),
                "the mode and the container's configurations reached the server's emulator");
        // the board path (qb_axbxp on the software device, each layer with the container's configuration): the emulator's embeddings
        Run board = run("run", "--activations", "axbxp", "--model", qbz.toString(), "--device", "xrt", "--xrt-library", io.qbridge.xrt.SwDevice.library().toString(),
                "--text", text.toString(), "--json");
        assertEquals(0, board.exit(), board.err());
        assertEquals("xrt", json.readTree(board.out()).get("device").get("kind").asText());
        assertEquals(json.readTree(local.out()).get("embeddings"), json.readTree(board.out()).get("embeddings"), "the board's Ax-BxP run is the emulator's");
        // a corrupt configuration string in the container: one line naming the key, nothing run
        io.qbridge.pipeline.QuantizedEncoders.Loaded loaded = io.qbridge.pipeline.QuantizedEncoders.load(qbz);
        java.util.Map<String, String> settings = new java.util.LinkedHashMap<>(loaded.manifest().settings());
        String first = loaded.layers().get(0).name();
        settings.put("axbxp." + first, "k2-x9d-w1d-full");
        java.util.List<io.qbridge.container.QbzEntry> entries = new java.util.ArrayList<>();
        for (io.qbridge.pipeline.QuantizedLayer l : loaded.layers()) {
            entries.add(new io.qbridge.container.QbzEntry.Packed(l.name(), l.packed(), l.inputPerm()));
            entries.add(new io.qbridge.container.QbzEntry.Floats(l.name().replace(".weight", ".bias"), l.bias(), new long[] {l.bias().length}));
        }
        Path corrupt = dir.resolve("corrupt-axbxp.qbz");
        io.qbridge.container.QbzFile.write(corrupt, loaded.manifest().model(), loaded.manifest().baseSha256(), loaded.manifest().format(), settings, entries);
        Run bad = run("run", "--activations", "axbxp", "--model", corrupt.toString(), "--device", "emulator", "--text", text.toString());
        assertEquals(2, bad.exit(), bad.err());
        assertEquals("qbridge: " + corrupt + ": settings axbxp." + first + ": bad Ax-BxP configuration 'k2-x9d-w1d-full': Ax-BxP keeps 1..4 blocks of 2 bits, got 9",
                bad.err().strip());
        Run noConfig = run("run", "--activations", "axbxp", "--model", "minilm", "--format", "rtn-w8g128", "--device", "emulator", "--text", text.toString());
        assertEquals(2, noConfig.exit(), noConfig.err());
        assertTrue(noConfig.err().strip().startsWith("qbridge: --activations axbxp: minilm has no per-layer Ax-BxP configurations"), noConfig.err());
        Run builtin = run("submit", "--server", addr, "run", "--model", "minilm", "--format", "rtn-w8g128", "--device", "emulator", "--activations", "axbxp",
                "--text", text.toString());
        org.junit.jupiter.api.Assertions.assertNotEquals(0, builtin.exit(), builtin.err());
        assertTrue(builtin.err().contains("activations: axbxp runs a .qbz quantized with --axbxp-budget"), builtin.err());
    }

    @Test
    void remoteAxBxpBenchModelsWhatTheLocalBenchModels() throws Exception {
        // a bench's device figures are modelled (the emulator): the server's must be the local command's, layer by layer
        Path qbz = axbxpContainer();
        String[] opts = {"--model", qbz.toString(), "--device", "emulator", "--runs", "1", "--warmup", "0", "--json"};
        Run local = run(concat(new String[] {"bench", "--activations", "axbxp"}, opts));
        Run remote = run(concat(new String[] {"submit", "--server", addr, "bench", "--activations", "axbxp"}, opts));
        Run remoteInt8 = run(concat(new String[] {"submit", "--server", addr, "bench"}, opts));
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err());
        assertEquals(0, remoteInt8.exit(), remoteInt8.err());
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode l = json.readTree(local.out()), r = json.readTree(remote.out()), i8 = json.readTree(remoteInt8.out());
        assertEquals(l.get("device").get("name").asText(), r.get("device").get("name").asText());
        assertTrue(r.get("device").get("name").asText().endsWith("axbxp activations)"), r.get("device").toString());
        for (String f : new String[] {"deviceSeconds", "deviceCycles", "bytesMoved", "macs", "computeBoundRuns", "memoryBoundRuns"})
            assertEquals(l.get("timing").get(f).asText(), r.get("timing").get(f).asText(), "per forward: " + f);
        assertEquals(l.get("energy"), r.get("energy"));
        assertEquals(36, r.get("layers").size());
        for (int i = 0; i < l.get("layers").size(); i++)
            for (String f : new String[] {"name", "deviceSeconds", "deviceCycles", "energyJoules", "bound"})
                assertEquals(l.get("layers").get(i).get(f).asText(), r.get("layers").get(i).get(f).asText(), "layer " + i + ": " + f);
        // the mode and the container's configurations reached the server: Ax-BxP's block-multiplier PE costs less than FxP8's
        assertEquals(l.get("timing").get("macs").asLong(), i8.get("timing").get("macs").asLong());
        assertTrue(r.get("energy").get("joules").asDouble() < i8.get("energy").get("joules").asDouble(), r.get("energy") + " vs FxP8 " + i8.get("energy"));
        assertTrue(r.get("timing").get("deviceCycles").asLong() <= i8.get("timing").get("deviceCycles").asLong(), r.get("timing") + " vs FxP8 " + i8.get("timing"));
    }

    @Test
    void remoteRunCalibratesAGptqRecipeAsTheLocalRunDoes() throws Exception {
        Path text = dir.resolve("gptq.txt");
        Files.writeString(text, "Outliers keep their precision in the pruned slots.\nA second sentence.\n");
        String[] opts = {"--model", "minilm", "--format", "microscopiq-w4", "--device", "emulator", "--text", text.toString(), "--json"};
        Run local = run(concat(new String[] {"run"}, opts));
        Run remote = run(concat(new String[] {"submit", "--server", addr, "run"}, opts));
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err()); // refused before: "needs calibration; submit a quantize job"
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode l = json.readTree(local.out()).get("embeddings"), r = json.readTree(remote.out()).get("embeddings");
        assertEquals(2, l.size());
        for (int s = 0; s < l.size(); s++)
            for (int i = 0; i < l.get(s).size(); i++)
                assertEquals(Float.floatToIntBits(l.get(s).get(i).floatValue()), Float.floatToIntBits(r.get(s).get(i).floatValue()), "sentence " + s + " dim " + i);
    }

    @Test
    void remoteLoBcqRunIsTheLocalRunBitForBit() throws Exception {
        // a LO-BCQ format through the server's emulator, W4A4 (--activations lobcq) and W4A8 (the default INT8 per token)
        Path text = dir.resolve("lobcq.txt");
        Files.writeString(text, "Weights and activations are indices into frozen codebooks.\nA second sentence.\n");
        String[] opts = {"--model", "minilm", "--format", "lobcq-c8-a64", "--device", "emulator", "--text", text.toString(), "--json"};
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode w4a4 = null;
        for (String[] mode : new String[][] {{"--activations", "lobcq"}, {}}) {
            Run local = run(concat(concat(new String[] {"run"}, mode), opts));
            Run remote = run(concat(concat(new String[] {"submit", "--server", addr, "run"}, mode), opts));
            assertEquals(0, local.exit(), local.err());
            assertEquals(0, remote.exit(), remote.err());
            com.fasterxml.jackson.databind.JsonNode l = json.readTree(local.out()).get("embeddings"), r = json.readTree(remote.out()).get("embeddings");
            assertEquals(2, l.size());
            for (int s = 0; s < l.size(); s++)
                for (int i = 0; i < l.get(s).size(); i++)
                    assertEquals(Float.floatToIntBits(l.get(s).get(i).floatValue()), Float.floatToIntBits(r.get(s).get(i).floatValue()),
                            java.util.Arrays.toString(mode) + " sentence " + s + " dim " + i);
            if (w4a4 == null) w4a4 = r;
            else org.junit.jupiter.api.Assertions.assertNotEquals(w4a4, r, "W4A4 and W4A8 differ: the mode reached the server's emulator");
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void serverErrorsAreOneLineWithExitCode2() {
        Run bad = run("submit", "--server", addr, "quantize", "--model", "minilm", "--format", "int5-wat");
        assertEquals(2, bad.exit());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().startsWith("qbridge: " + addr + ": INVALID_ARGUMENT: quantize.format: "), bad.err());

        Run missing = run("job", "--server", addr, "j-0000000000000000");
        assertEquals(2, missing.exit());
        assertEquals("qbridge: " + addr + ": NOT_FOUND: no job j-0000000000000000", missing.err().strip());

        Run unreachable = run("jobs", "--server", "127.0.0.1:1");
        assertEquals(2, unreachable.exit());
        assertEquals("qbridge: 127.0.0.1:1: cannot reach the job server", unreachable.err().strip());
    }
}
