package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.qbridge.client.QbridgeClient;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.pipeline.DecoderEvaluator;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.pipeline.TextGeneration;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.RunStats;
import io.qbridge.server.JobServer;
import io.qbridge.server.ServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generate and eval jobs of a decoder {@code .qbz} against a live server in this JVM (real sockets): {@code submit
 * generate} prints the text the local {@code generate --model x.qbz} prints, token for token; {@code submit eval
 * --model x.qbz --text F} prints the local table with a bit-identical perplexity; bad specs are one line.
 */
class RemoteDecoderJobsTest {
    @TempDir static Path dir;
    static JobServer server;
    static String addr;
    static Path qbz;
    static Path text;

    @BeforeAll
    static void start() throws Exception {
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), null).withWorkers(1));
        addr = "127.0.0.1:" + server.port();
        Path ckpt = DecoderQbzCliTest.checkpoint(dir, true);
        qbz = dir.resolve("tiny-mxint8.qbz");
        CliTest.Run q = CliTest.run("quantize", "--model", ckpt.toString(), "--format", "mxint8", "--out", qbz.toString());
        assertEquals(0, q.exit(), q.err());
        text = Files.writeString(dir.resolve("text.txt"), "w260 ab w261 w300\n\n  w262 cd w263 \nw270 w271 w272 w273 w274 w275 w276 w277 w278 w279 w280 w281 w282\n");
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    /** The CLI in this JVM, without the server's own log lines (an ISO instant first) that share its stderr. */
    static CliTest.Run run(String... args) {
        CliTest.Run r = CliTest.run(args);
        return new CliTest.Run(r.exit(), r.out(), r.err().lines().filter(l -> !SERVER_LOG_LINE.matcher(l).lookingAt()).map(l -> l + "\n").collect(Collectors.joining()));
    }

    private static final Pattern SERVER_LOG_LINE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}[.0-9]*Z ");

    @Test
    void remoteGenerateIsTheLocalTextTokenForToken() throws Exception {
        String[] greedy = {"--model", qbz.toString(), "-i", "w260 ab", "-n", "24", "-t", "0", "--device", "emulator"};
        String[] sampled = {"--model", qbz.toString(), "-i", "w260 ab", "-n", "24", "-t", "0.9", "-s", "7", "--device", "emulator"};
        String[] mxint8 = concat(greedy, new String[] {"--activations", "mxint8"});
        for (String[] opts : List.of(greedy, sampled, mxint8)) {
            CliTest.Run local = run(concat(new String[] {"generate"}, opts));
            CliTest.Run remote = run(concat(new String[] {"submit", "--server", addr, "generate"}, opts));
            assertEquals(0, local.exit(), local.err());
            assertEquals(0, remote.exit(), remote.err());
            assertEquals(local.out(), remote.out());
            assertTrue(remote.out().length() > "w260 ab".length() + 5, remote.out());
            assertTrue(remote.err().contains("SUCCEEDED") && remote.err().contains("achieved tok/s: "), remote.err());
            String mode = opts == mxint8 ? "mxint8" : "int8-token";
            assertTrue(remote.err().contains("(" + mode + " activations)"), remote.err()); // the job's log: the mode reached the server's device
        }

        // the ids the server sends are those the one generation loop gives here on the emulator
        QuantizedDecoders.Loaded q = QuantizedDecoders.load(qbz);
        TextGeneration.Result here;
        try (EmulatorAccelerator emu = new EmulatorAccelerator(EmulatorConfig.defaults())) {
            here = TextGeneration.generate(AcceleratorModels.containerOnDevice(q, emu, new RunStats()), q.textTokenizer("test"), "w260 ab", 24, 0.9f, 0.9f, 7, s -> { });
        }
        try (QbridgeClient c = QbridgeClient.connect(addr, null)) {
            ModelRef ref = ModelRef.newBuilder().setUploadSha256(c.uploadModel(qbz).sha256()).build();
            Job done = awaitDone(c, QbridgeClient.generateSpec(ref, "w260 ab", 24, 0.9f, 0.9f, 7L, "emulator"));
            var r = done.getResult().getGenerate();
            assertArrayEquals(here.tokens(), r.getTokensList().stream().mapToInt(Integer::intValue).toArray());
            assertEquals(here.text(), r.getText());
            assertEquals(here.positions(), r.getPositions());
            assertTrue(r.getTokensPerSecond() > 0, "tok/s " + r.getTokensPerSecond());
        }
    }

    @Test
    void remoteAxBxpGenerateTakesTheContainersConfigurationsAndIsTheLocalText() throws Exception {
        Path ckpt = DecoderQbzCliTest.checkpoint(dir, true);
        Path ax = dir.resolve("tiny-axbxp.qbz");
        CliTest.Run q = run("quantize", "--model", ckpt.toString(), "--format", "rtn-w8g128", "--axbxp-budget", "0.05", "--calibration", "2", "--out", ax.toString());
        assertEquals(0, q.exit(), q.err());
        String[] opts = {"--model", ax.toString(), "-i", "w260 ab", "-n", "24", "-t", "0", "--device", "emulator", "--activations", "axbxp"};
        CliTest.Run local = run(concat(new String[] {"generate"}, opts));
        CliTest.Run remote = run(concat(new String[] {"submit", "--server", addr, "generate"}, opts));
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err());
        assertEquals(local.out(), remote.out());
        assertTrue(remote.err().contains("(axbxp activations)"), remote.err());

        // the server reads the configurations from the container: one quantized without --axbxp-budget has none, and the
        // job fails in one line naming the first layer without one
        Path fxp8 = dir.resolve("tiny-w8.qbz");
        CliTest.Run w8 = run("quantize", "--model", ckpt.toString(), "--format", "rtn-w8g128", "--out", fxp8.toString());
        assertEquals(0, w8.exit(), w8.err());
        try (QbridgeClient c = QbridgeClient.connect(addr, null)) {
            String sha = c.uploadModel(fxp8).sha256();
            JobSpec spec = QbridgeClient.generateSpec(ModelRef.newBuilder().setUploadSha256(sha).build(), "hi", 4, 0, 0.9f, null, "emulator");
            Job failed = c.await(c.submit(spec.toBuilder().setGenerate(spec.getGenerate().toBuilder().setActivations("axbxp")).build(), 0).getId(), e -> { });
            assertEquals(JobState.JOB_STATE_FAILED, failed.getState());
            assertTrue(failed.getError().contains("activations: axbxp: uploaded decoder " + sha + " stores no Ax-BxP configuration for layers.0.wq"), failed.getError());
        }
    }

    @Test
    void remoteEvalPerplexityIsBitIdenticalToLocal() throws Exception {
        CliTest.Run local = run("eval", "--model", qbz.toString(), "--text", text.toString(), "--window", "16");
        CliTest.Run remote = run("submit", "--server", addr, "eval", "--model", qbz.toString(), "--text", text.toString(), "--window", "16");
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err());
        assertEquals(withoutSeconds(local.out()), withoutSeconds(remote.out())); // the table, the seconds column aside
        assertTrue(remote.out().contains("windows of 16 positions from BOS"), remote.out());

        QuantizedDecoders.Loaded q = QuantizedDecoders.load(qbz);
        DecoderEvaluator.ContainerRow here = DecoderEvaluator.evaluateContainer(q, q.textTokenizer("test"),
                String.join("\n", io.qbridge.data.EvalCorpus.readLines(text)), 16);
        try (QbridgeClient c = QbridgeClient.connect(addr, null)) {
            ModelRef ref = ModelRef.newBuilder().setUploadSha256(c.uploadModel(qbz).sha256()).build();
            var r = awaitDone(c, QbridgeClient.decoderEvalSpec(ref, String.join("\n", io.qbridge.data.EvalCorpus.readLines(text)), 16)).getResult().getDecoderEval();
            assertEquals(Double.doubleToLongBits(here.perplexity()), Double.doubleToLongBits(r.getPerplexity()));
            assertEquals(here.tokens(), r.getTokens());
            assertTrue(r.getPerplexity() > 1 && Double.isFinite(r.getPerplexity()), "perplexity " + r.getPerplexity()); // random weights: large but finite
            // another window is another measurement: the window travels
            var r8 = awaitDone(c, QbridgeClient.decoderEvalSpec(ref, String.join("\n", io.qbridge.data.EvalCorpus.readLines(text)), 8)).getResult().getDecoderEval();
            assertNotEquals(r.getPerplexity(), r8.getPerplexity());
        }
    }

    @Test
    void badDecoderSpecsAreRefusedInOneLine() throws Exception {
        try (QbridgeClient c = QbridgeClient.connect(addr, null)) {
            String sha = c.uploadModel(qbz).sha256();
            ModelRef ref = ModelRef.newBuilder().setUploadSha256(sha).build();
            assertRefused(c, QbridgeClient.generateSpec(ref, "hi", 70_000, 0, 0.9f, null, ""), "generate.steps: at most 65536 (0 = the model's sequence length)");
            // uint32 fields: 2^32 - 1 arrives in Java as -1 and must not slip past an upper bound
            assertRefused(c, QbridgeClient.generateSpec(ref, "hi", -1, 0, 0.9f, null, ""), "generate.steps: at most 65536 (0 = the model's sequence length)");
            assertRefused(c, QbridgeClient.decoderEvalSpec(ref, "w260", -5), "decoder_eval.window: must be in 2..65536 (0 = 256)");
            assertRefused(c, QbridgeClient.generateSpec(ref, "hi", 10, Float.NaN, 0.9f, null, ""), "generate.temperature: must be in [0, 100] (0 = greedy)");
            assertRefused(c, QbridgeClient.generateSpec(ref, "hi", 10, 0, 1.5f, null, ""), "generate.topp: must be in [0, 1]");
            assertRefused(c, QbridgeClient.generateSpec(ref, "x".repeat(20_000), 10, 0, 0.9f, null, ""), "generate.prompt: longer than 16384 characters");
            assertRefused(c, QbridgeClient.generateSpec(ref, "hi", 10, 0, 0.9f, null, "host"), "generate.device: 'host' is not emulator, xrt or auto");
            assertRefused(c, QbridgeClient.generateSpec(ModelRef.newBuilder().setBuiltin("minilm").build(), "hi", 10, 0, 0.9f, null, ""),
                    "generate.model: name an uploaded decoder .qbz (upload_sha256)");
            assertRefused(c, QbridgeClient.decoderEvalSpec(ref, " \n ", 0), "decoder_eval.text: no text to measure perplexity on");
            assertRefused(c, QbridgeClient.decoderEvalSpec(ref, "w260", 1), "decoder_eval.window: must be in 2..65536 (0 = 256)");
            // an encoder job naming the decoder upload
            assertRefused(c, QbridgeClient.runSpec(ref, "", List.of("a sentence")),
                    "run.model: upload " + sha + " is a decoder .qbz; it runs in generate and eval jobs (GenerateSpec, DecoderEvalSpec), not this one");
        }
        CliTest.Run cli = run("submit", "--server", addr, "generate", "--model", qbz.toString(), "-n", "70000", "-t", "0");
        assertEquals(2, cli.exit(), cli.err());
        assertEquals("qbridge: " + addr + ": INVALID_ARGUMENT: generate.steps: at most 65536 (0 = the model's sequence length)", cli.err().lines().reduce((a, b) -> b).orElse(""));
        CliTest.Run noText = run("submit", "--server", addr, "eval", "--model", qbz.toString());
        assertEquals(2, noText.exit(), noText.err());
        assertEquals("qbridge: eval of a decoder .qbz needs --text FILE", noText.err().strip());
    }

    private static void assertRefused(QbridgeClient c, JobSpec spec, String message) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> c.submit(spec, 0));
        assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertEquals(message, e.getStatus().getDescription());
    }

    private static Job awaitDone(QbridgeClient c, JobSpec spec) {
        Job j = c.submit(spec, 0);
        Job done = c.await(j.getId(), e -> { });
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        return done;
    }

    /** The eval table with its last column (seconds, which differ run to run) cut. */
    private static String withoutSeconds(String out) {
        return out.lines().map(l -> l.replaceFirst("\\s+[0-9.]+$", "")).collect(Collectors.joining("\n"));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
