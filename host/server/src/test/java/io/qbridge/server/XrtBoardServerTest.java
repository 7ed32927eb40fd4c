package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.client.QbridgeClient;
import io.qbridge.device.ActivationMode;
import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.protocol.v1.Device;
import io.qbridge.protocol.v1.DeviceKind;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.xrt.SwDevice;
import io.qbridge.xrt.XrtAccelerator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server whose board is the software device through the real XRT binding: it lists the board, runs a remote
 * {@code submit run --device xrt} on it bit-identically to a local emulator run, and a run that outlives the
 * binding's wait fails the job naming the XRT call (or, when the job allows it, falls back to the emulator).
 */
class XrtBoardServerTest {
    @TempDir Path dir;
    JobServer server;
    QbridgeClient client;
    XrtAccelerator board;

    static final List<String> SENTENCES = List.of("The board is a software device.", "Its kernels are the HLS sources.", "Short.");

    void start(Duration runTimeout) throws Exception {
        board = XrtAccelerator.open(new XrtAccelerator.Options(SwDevice.library().toString(), 0, SwDevice.manifest(), runTimeout),
                new EmulatorConfig(PerfConfig.u55c(), EmulatorConfig.DEFAULT_FORMATS, ActivationMode.INT8_PER_TOKEN), s -> {});
        AcceleratorSource source = (choice, cfg, log) -> switch (choice) {
            case "emulator" -> new EmulatorAccelerator(cfg);
            default -> throw new IllegalArgumentException(choice);
        };
        HostJobExecutor executor = new HostJobExecutor(new ComputeDevice.Host(1), source, HostJobExecutor.DEFAULT_DEVICE_RUN_TIMEOUT);
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), null).withWorkers(1), executor,
                List.of(executor.device(), JobServer.serverEmulator(1), new ComputeDevice.Board("board-0", board)));
        client = QbridgeClient.connect("127.0.0.1:" + server.port(), null);
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) client.close();
        if (server != null) server.close();
        if (board != null) board.close();
    }

    static JobSpec run(boolean allowFallback) {
        JobSpec spec = QbridgeClient.runSpec(ModelRef.newBuilder().setBuiltin("minilm").build(), "mxint8", SENTENCES);
        return JobSpec.newBuilder().setRun(spec.getRun().toBuilder().setDevice("xrt").setAllowFallback(allowFallback)).build();
    }

    static float[][] localEmulator() {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        var q = io.qbridge.pipeline.EncoderQuantizer.quantize(fp32, io.qbridge.pipeline.QuantRecipe.parse("mxint8"), List.of(), null);
        var onEmu = io.qbridge.runtime.AcceleratorModels.onDevice(q, new EmulatorAccelerator(EmulatorConfig.defaults()), new io.qbridge.runtime.RunStats());
        return onEmu.embedIds(onEmu.tokenize(SENTENCES, null), EncoderModel.DEFAULT_BATCH_TOKENS);
    }

    @Test
    void aRemoteRunOnTheSoftwareDeviceBoardEqualsALocalEmulatorRun() throws Exception {
        start(Duration.ofSeconds(120));
        Device b = client.devices().stream().filter(d -> d.getId().equals("board-0")).findFirst().orElseThrow();
        assertEquals(DeviceKind.DEVICE_KIND_BOARD, b.getKind());
        assertTrue(b.getDescription().startsWith("XRT software device (libqbridge_swdevice.so)"), b.getDescription());
        Job done = client.await(client.submit(run(false), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        float[][] want = localEmulator();
        float[][] got = QbridgeClient.embeddings(done);
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++)
            for (int j = 0; j < want[i].length; j++)
                assertEquals(Float.floatToRawIntBits(want[i][j]), Float.floatToRawIntBits(got[i][j]), "sentence " + i + " dim " + j);
    }

    /**
     * The served board (opened by {@code serve} with INT8 per-token activations) runs a job that brings its own
     * configuration: an Ax-BxP run of an uploaded container (two configurations alternating over the layers) runs on
     * {@code qb_axbxp} through a view of the board and equals a local emulator run with the container's plan, bit for
     * bit; afterwards the board still runs an INT8 job as before.
     */
    @Test
    void theServedBoardRunsAnAxBxpJobWithTheContainersConfigurations() throws Exception {
        start(Duration.ofSeconds(120));
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        var q = io.qbridge.pipeline.EncoderQuantizer.quantize(fp32, io.qbridge.pipeline.QuantRecipe.parse("rtn-w8g128"), List.of(), null);
        java.util.Map<String, String> settings = new java.util.LinkedHashMap<>(q.settings());
        for (int i = 0; i < q.layers().size(); i++)
            settings.put(io.qbridge.emulator.AxBxpPlan.KEY_PREFIX + q.layers().get(i).name(), i % 2 == 0 ? "k2-x2d-w3d-sig1" : "k2-x3d-w2s-full");
        q = new io.qbridge.pipeline.EncoderQuantizer.Result(q.recipe(), q.layers(), q.model(), settings);
        Path qbz = dir.resolve("minilm-axbxp.qbz");
        io.qbridge.pipeline.QuantizedEncoders.save(qbz, EncoderModel.Builtin.MINILM, q);
        String sha = client.uploadModel(qbz, null, n -> {}).sha256();

        JobSpec spec = QbridgeClient.runSpec(ModelRef.newBuilder().setUploadSha256(sha).build(), "", SENTENCES);
        spec = JobSpec.newBuilder().setRun(spec.getRun().toBuilder().setDevice("xrt").setActivations("axbxp")).build();
        List<io.qbridge.protocol.v1.JobEvent> events = new java.util.ArrayList<>();
        Job done = client.await(client.submit(spec, 0).getId(), events::add);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        assertTrue(events.stream().filter(io.qbridge.protocol.v1.JobEvent::hasLogLine).anyMatch(e -> e.getLogLine().contains("on XRT software device")
                && e.getLogLine().contains("axbxp activations")), events.toString());

        EmulatorConfig cfg = EmulatorConfig.defaults().withActivations(ActivationMode.AXBXP).withAxBxp(io.qbridge.emulator.AxBxpPlan.fromSettings(settings));
        var onEmu = io.qbridge.runtime.AcceleratorModels.onDevice(q, new EmulatorAccelerator(cfg), new io.qbridge.runtime.RunStats());
        float[][] want = onEmu.embedIds(onEmu.tokenize(SENTENCES, null), EncoderModel.DEFAULT_BATCH_TOKENS);
        float[][] got = QbridgeClient.embeddings(done);
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++)
            for (int j = 0; j < want[i].length; j++)
                assertEquals(Float.floatToRawIntBits(want[i][j]), Float.floatToRawIntBits(got[i][j]), "sentence " + i + " dim " + j);
        // the plan mattered: one configuration for every layer gives other embeddings
        var uniform = io.qbridge.runtime.AcceleratorModels.onDevice(q, new EmulatorAccelerator(cfg.withAxBxp(io.qbridge.emulator.AxBxpPlan.uniform(
                io.qbridge.emulator.AxBxpPlan.parse("k2-x2d-w3d-sig1")))), new io.qbridge.runtime.RunStats());
        org.junit.jupiter.api.Assertions.assertFalse(java.util.Arrays.equals(want[0],
                uniform.embedIds(uniform.tokenize(SENTENCES, null), EncoderModel.DEFAULT_BATCH_TOKENS)[0]));

        // the board itself is unchanged: an INT8 job after it is the local emulator's run
        Job int8 = client.await(client.submit(run(false), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, int8.getState(), int8.getError());
        float[][] want8 = localEmulator(), got8 = QbridgeClient.embeddings(int8);
        for (int i = 0; i < want8.length; i++) assertArrayEquals(want8[i], got8[i], 0f, "sentence " + i);
        assertTrue(board.describe().name().endsWith("int8-token activations"), board.describe().name());
    }

    @Test
    void aRunThatOutlivesTheXrtWaitFailsTheJobOrFallsBack() throws Exception {
        start(Duration.ofMillis(1));
        Job failed = client.await(client.submit(run(false), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_FAILED, failed.getState());
        assertTrue(failed.getError().contains("xrtRunWaitFor(") && failed.getError().contains("timed out"), failed.getError());
        Job done = client.await(client.submit(run(true), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        float[][] want = localEmulator();
        float[][] got = QbridgeClient.embeddings(done);
        for (int i = 0; i < want.length; i++) assertArrayEquals(want[i], got[i], 0f, "sentence " + i);
    }
}
