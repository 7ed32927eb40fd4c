package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.client.QbridgeClient;
import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedEncoders;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real models through a real server on a loopback socket: remote results equal local ones bit for bit. */
class RemoteModelJobsTest {
    static final List<String> SENTENCES = List.of("The committee adopted the report.", "Quantized weights keep their outliers.",
            "A remote job returns the same numbers as a local one.", "Short.");

    @TempDir static Path data;
    static JobServer server;
    static QbridgeClient client;

    @BeforeAll
    static void start() throws Exception {
        server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(2));
        client = QbridgeClient.connect("127.0.0.1:" + server.port(), null);
    }

    @AfterAll
    static void stop() throws Exception {
        client.close();
        server.close();
    }

    @Test
    void remoteRunIsBitIdenticalToLocalEmbedding() {
        Job j = client.submit(QbridgeClient.runSpec("minilm", SENTENCES), 0);
        List<JobEvent> events = new ArrayList<>();
        Job done = client.await(j.getId(), events::add);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());

        EncoderModel local = EncoderModel.load(EncoderModel.Builtin.MINILM);
        float[][] expected = local.embedIds(local.tokenize(SENTENCES, null), EncoderModel.DEFAULT_BATCH_TOKENS);
        float[][] remote = QbridgeClient.embeddings(done);
        assertEquals(expected.length, remote.length);
        for (int i = 0; i < expected.length; i++) {
            int[] e = new int[expected[i].length], r = new int[remote[i].length];
            for (int k = 0; k < e.length; k++) e[k] = Float.floatToRawIntBits(expected[i][k]);
            for (int k = 0; k < r.length; k++) r[k] = Float.floatToRawIntBits(remote[i][k]);
            assertArrayEquals(e, r, "sentence " + i);
        }
        assertEquals("minilm", done.getResult().getRun().getModel());
        assertEquals(384, done.getResult().getRun().getDim());
        assertTrue(events.getFirst().hasSnapshot(), "a watch starts with the snapshot");
        assertEquals(JobState.JOB_STATE_SUCCEEDED, events.getLast().getState(), "and ends at the final state");
    }

    @Test
    void theHostPathAndTheEmulatorAreListedWithTheirParallelism() {
        var devices = client.devices();
        assertEquals(List.of("host", "emulator"), devices.stream().map(io.qbridge.protocol.v1.Device::getId).toList());
        assertEquals(io.qbridge.protocol.v1.DeviceKind.DEVICE_KIND_HOST, devices.getFirst().getKind());
        assertEquals(io.qbridge.protocol.v1.DeviceKind.DEVICE_KIND_EMULATOR, devices.get(1).getKind());
        assertEquals(2, devices.getFirst().getParallelism(), "as many jobs at once as workers");
        assertEquals(2, devices.get(1).getParallelism(), "the emulator shares the same workers");
    }

    @Test
    void remoteQuantizeIsByteIdenticalToLocalSaveAndRunsFromItsArtifact(@TempDir Path dir) throws Exception {
        Job j = client.submit(QbridgeClient.quantizeSpec("minilm", "mxint8", 0), 0);
        List<JobEvent> events = new ArrayList<>();
        Job done = client.await(j.getId(), events::add);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        Path fetched = client.download(j.getId(), dir);

        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        var calib = fp32.tokenize(EvalCorpus.split(EvalCorpus.Split.CALIBRATION).subList(0, EvalCorpus.Split.CALIBRATION.count), null);
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("mxint8"), calib, null);
        Path local = dir.resolve("local.qbz");
        QuantizedEncoders.save(local, EncoderModel.Builtin.MINILM, r);
        assertArrayEquals(Files.readAllBytes(local), Files.readAllBytes(fetched), "remote .qbz differs from the local one");
        assertEquals("minilm-mxint8.qbz", fetched.getFileName().toString());

        // progress arrives per layer, its fractions rising towards 1
        List<Double> fractions = events.stream().filter(JobEvent::hasProgress).map(e -> e.getProgress().getFraction()).toList();
        assertTrue(fractions.size() >= fp32.encoder().linears().size(), "one progress event per layer: " + fractions.size());
        for (int i = 1; i < fractions.size(); i++) assertTrue(fractions.get(i) >= fractions.get(i - 1));
        assertEquals(1.0, fractions.getLast());

        // the artifact is a model a run job can name
        String sha = done.getResult().getQuantize().getContainer().getSha256();
        Job run = client.await(client.submit(QbridgeClient.runSpec(ModelRef.newBuilder().setArtifactSha256(sha).build(), "", SENTENCES), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, run.getState(), run.getError());
        EncoderModel q = QuantizedEncoders.load(local).model();
        float[][] expected = q.embedIds(q.tokenize(SENTENCES, null), EncoderModel.DEFAULT_BATCH_TOKENS);
        float[][] remote = QbridgeClient.embeddings(run);
        for (int i = 0; i < expected.length; i++) assertArrayEquals(expected[i], remote[i], 0f);
    }

    @Test
    void anArtifactThatIsNotOnThisServerIsAClearFailedPrecondition(@TempDir Path dir) throws Exception {
        // as in fleet mode, where the job ran on another server and its artifact stayed in that server's --data
        Job done = client.await(client.submit(QbridgeClient.quantizeSpec("minilm", "rtn-w4g128", 0), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        String sha = done.getResult().getQuantize().getContainer().getSha256();
        Files.delete(new ArtifactStore(data).path(sha));
        io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                () -> client.download(done.getId(), dir));
        assertEquals(io.grpc.Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertEquals("artifact " + sha + " of job " + done.getId()
                + " is not stored on this server; artifacts stay on the server that ran the job (fleet mode): fetch it there", e.getStatus().getDescription());
        try (var left = Files.list(dir)) {
            assertEquals(List.of(), left.toList(), "no partial download left behind");
        }
    }
}
