package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.cli.CliTest;
import io.qbridge.cli.CliTest.Run;
import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.BenchSpec;
import io.qbridge.protocol.v1.EvalSpec;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bench and eval jobs on a real server over loopback: the CLI's --json output equals the local command's. */
class RemoteBenchEvalTest {
    @TempDir static Path dir;
    static JobServer server;
    static String addr;
    static QbridgeClient client;

    @BeforeAll
    static void start() throws Exception {
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), null).withWorkers(1));
        addr = "127.0.0.1:" + server.port();
        client = QbridgeClient.connect(addr, null);
    }

    @AfterAll
    static void stop() throws Exception {
        client.close();
        server.close();
    }

    @Test
    void remoteEvalJsonIsByteIdenticalToLocal() throws Exception {
        String[] opts = {"--model", "minilm", "--formats", "fp32,mxint8", "--held-out", "10", "--retrieval", "12", "--json"};
        Run local = CliTest.run(concat(new String[] {"eval"}, opts));
        Run remote = CliTest.run(concat(new String[] {"submit", "--server", addr, "eval", "--wait"}, opts));
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err());
        assertEquals(local.out(), remote.out());
        JsonNode json = new ObjectMapper().readTree(remote.out());
        assertEquals(2, json.get("formats").size());
        assertEquals("mxint8", json.get("formats").get(1).get("format").asText());
        assertTrue(json.get("formats").get(0).get("weightSqnrDb").isNull(), "fp32 has no quantization noise: null, as the table's '-'");
        double cos = json.get("formats").get(1).get("meanCosine").asDouble();
        assertTrue(cos > 0.99 && cos < 1.0, "mxint8 stays close to FP32 but not equal: " + cos);

        // the table without --json has one row per format, from the result's rows
        Run table = CliTest.run("submit", "--server", addr, "eval", "--model", "minilm", "--formats", "mxint8", "--held-out", "10", "--retrieval", "10");
        assertEquals(0, table.exit(), table.err());
        assertTrue(table.out().lines().anyMatch(l -> l.startsWith("mxint8 ")), table.out());
    }

    @Test
    void remoteBenchJsonHasTheLocalStructureAndDeterministicFields() throws Exception {
        Path localChart = dir.resolve("local.png"), remoteChart = dir.resolve("remote.png");
        String[] opts = {"--model", "minilm", "--format", "mxint8", "--device", "emulator", "--runs", "2", "--warmup", "0", "--compare-fp32", "--json"};
        Run local = CliTest.run(concat(new String[] {"bench", "--chart", localChart.toString()}, opts));
        Run remote = CliTest.run(concat(new String[] {"submit", "--server", addr, "bench", "--wait", "--chart", remoteChart.toString()}, opts));
        assertEquals(0, local.exit(), local.err());
        assertEquals(0, remote.exit(), remote.err());
        JsonNode l = new ObjectMapper().readTree(local.out()), r = new ObjectMapper().readTree(remote.out());
        assertEquals(shape(l), shape(r), "same fields, same nesting, same layers in the same order");
        for (String f : List.of("model", "format", "sentences", "runs", "warmup", "device")) assertEquals(l.get(f), r.get(f), f);
        for (String f : List.of("layerRuns", "deviceSeconds", "deviceCycles", "bytesMoved", "macs", "computeBoundRuns", "memoryBoundRuns")) {
            assertEquals(l.get("timing").get(f), r.get("timing").get(f), "timing." + f);
        }
        assertEquals(l.get("energy").get("joules"), r.get("energy").get("joules"));
        assertEquals(36, r.get("layers").size(), "MiniLM has 6 blocks of 6 linear layers");
        for (int i = 0; i < l.get("layers").size(); i++) {
            for (String f : List.of("name", "deviceSeconds", "deviceCycles", "energyJoules", "bound")) {
                assertEquals(l.get("layers").get(i).get(f), r.get("layers").get(i).get(f), "layers[" + i + "]." + f);
            }
        }
        assertTrue(r.get("timing").get("deviceSeconds").asDouble() > 0);
        assertEquals("emulator", r.get("device").get("kind").asText());
        byte[] png = Files.readAllBytes(remoteChart);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4), "the chart is a PNG");
        assertTrue(remote.err().contains("SUCCEEDED"), remote.err());
    }

    @Test
    void benchResultCarriesPercentilesLayersAndBothArtifacts() throws Exception {
        JobSpec spec = JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(ModelRef.newBuilder().setBuiltin("minilm")).setFormat("fineq")
                .setDevice("emulator").setSentences(8).setRepeats(3).setWarmup(0)).build();
        List<JobEvent> events = new ArrayList<>();
        Job done = client.await(client.submit(spec, 0).getId(), events::add);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        var b = done.getResult().getBench();
        assertEquals(8, b.getSentences());
        assertEquals(3, b.getRuns());
        assertEquals("fineq", b.getFormat());
        assertTrue(b.getModelSeconds().getP50() > 0 && b.getModelSeconds().getP50() <= b.getModelSeconds().getP95()
                && b.getModelSeconds().getP95() <= b.getModelSeconds().getP99());
        assertEquals(36, b.getLayersCount());
        assertTrue(b.getPerForward().getEnergyJoules() > 0 && b.getPerForward().getDeviceCycles() > 0);
        assertEquals(io.qbridge.protocol.v1.DeviceKind.DEVICE_KIND_EMULATOR, b.getDevice().getKind());
        assertFalse(b.getFellBack());
        byte[] json = client.artifactBytes(done.getId(), "");
        assertEquals(b.getJson().getSize(), json.length, "the main artifact is the JSON");
        JsonNode node = new ObjectMapper().readTree(new String(json, StandardCharsets.UTF_8));
        assertEquals(b.getModelSeconds().getP50(), node.get("modelSeconds").get("p50").asDouble(), 0.0, "the proto and the JSON tell the same numbers");
        Path png = client.download(done.getId(), b.getChart().getSha256(), Files.createDirectories(dir.resolve("charts")));
        assertEquals("minilm-fineq-bench.png", png.getFileName().toString());
        assertEquals(b.getChart().getSize(), Files.size(png));
        // progress: rising fractions, ending at 1
        List<Double> fractions = events.stream().filter(JobEvent::hasProgress).map(e -> e.getProgress().getFraction()).toList();
        assertTrue(fractions.size() >= 36 + 3, "a progress event per quantized layer and per run: " + fractions.size());
        for (int i = 1; i < fractions.size(); i++) assertTrue(fractions.get(i) >= fractions.get(i - 1), fractions.toString());
        assertEquals(1.0, fractions.getLast());
        // qbridge job shows the bench's summary and both artifacts
        Run shown = CliTest.run("job", "--server", addr, done.getId());
        assertEquals(0, shown.exit(), shown.err());
        assertTrue(shown.out().contains("result    bench of minilm fineq on ") && shown.out().contains("minilm-fineq-bench.png"), shown.out());
    }

    @Test
    void aRunningBenchIsCancelledPromptly() throws Exception {
        JobSpec spec = JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(ModelRef.newBuilder().setBuiltin("minilm")).setFormat("mxint8")
                .setDevice("emulator").setRepeats(1000).setWarmup(0)).build();
        Job j = client.submit(spec, 0);
        // wait until it measures (past quantization)
        Iterator<JobEvent> it = watch(j.getId());
        while (it.hasNext()) {
            JobEvent e = it.next();
            if (e.hasProgress() && e.getProgress().getStage().startsWith("run ")) break;
        }
        client.cancel(j.getId());
        Job c = TestServers.awaitState(client, j.getId(), JobState.JOB_STATE_CANCELLED, 10_000);
        assertFalse(c.hasResult());
    }

    @Test
    void badBenchAndEvalSpecsAreRejectedNamingTheField() {
        ModelRef minilm = ModelRef.newBuilder().setBuiltin("minilm").build();
        Map<JobSpec, String> bad = Map.of(
                JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(minilm).setDevice("gpu")).build(), "bench.device",
                JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(minilm).setFormat("fp32")).build(), "bench.format",
                JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(minilm).setFormat("int5-wat")).build(), "bench.format",
                JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(minilm).setSentences(65)).build(), "bench.sentences",
                JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(minilm).setPreset("u999")).build(), "bench.preset",
                JobSpec.newBuilder().setEval(EvalSpec.newBuilder().setModel(minilm).addFormats("mxint8").setHeldOut(5)).build(), "eval.held_out",
                JobSpec.newBuilder().setEval(EvalSpec.newBuilder().setModel(minilm)).build(), "eval.formats",
                JobSpec.newBuilder().setEval(EvalSpec.newBuilder().setModel(minilm).addFormats("mxint8").addFormats("nope")).build(), "eval.formats[1]",
                JobSpec.newBuilder().setEval(EvalSpec.newBuilder().setModel(ModelRef.newBuilder().setBuiltin("gpt-5")).addFormats("mxint8")).build(), "eval.model");
        for (var e : bad.entrySet()) {
            StatusRuntimeException ex = assertThrows(StatusRuntimeException.class, () -> client.submit(e.getKey(), 0), e.getValue());
            assertEquals(Status.Code.INVALID_ARGUMENT, ex.getStatus().getCode(), e.getValue());
            assertTrue(ex.getStatus().getDescription().startsWith(e.getValue() + ":"), ex.getStatus().getDescription());
        }
    }

    private Iterator<JobEvent> watch(String id) {
        List<JobEvent> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.BlockingQueue<JobEvent> q = new java.util.concurrent.LinkedBlockingQueue<>();
        Thread t = new Thread(() -> client.await(id, q::add));
        t.setDaemon(true);
        t.start();
        return new Iterator<>() {
            public boolean hasNext() { return true; }
            public JobEvent next() {
                try {
                    JobEvent e = q.poll(60, java.util.concurrent.TimeUnit.SECONDS);
                    if (e == null) throw new AssertionError("no event within 60 s; seen " + seen);
                    seen.add(e);
                    return e;
                } catch (InterruptedException ex) {
                    throw new AssertionError(ex);
                }
            }
        };
    }

    /** The JSON's field names and nesting (arrays: each element's shape), without values. */
    static String shape(JsonNode n) {
        if (n.isObject()) {
            StringBuilder b = new StringBuilder("{");
            n.fieldNames().forEachRemaining(f -> b.append(f).append(':').append(shape(n.get(f))).append(','));
            return b.append('}').toString();
        }
        if (n.isArray()) {
            StringBuilder b = new StringBuilder("[");
            n.forEach(e -> b.append(shape(e)).append(','));
            return b.append(']').toString();
        }
        return n.isNumber() ? "n" : n.isTextual() ? "s" : n.getNodeType().name();
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
