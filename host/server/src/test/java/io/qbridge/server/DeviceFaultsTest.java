package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.atLeast;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.doReturn;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.spy;
import static org.mockito.Mockito.verify;

import io.qbridge.client.QbridgeClient;
import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.device.DeviceKind;
import io.qbridge.device.LayerHandle;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.protocol.v1.BenchSpec;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mockito.AdditionalAnswers;

/**
 * Faults at the device and disk boundaries of a real server on loopback. Mockito stands in only for the
 * board (an {@link Accelerator} that computes with the real emulator until it disappears or hangs) and for
 * the disk under the artifact store (a write that fails like a full disk); everything else is the real
 * server, the real model and the real bench.
 */
class DeviceFaultsTest {
    static final String BOARD = "Alveo U55C 0000:3b:00.1";
    /** MiniLM has 36 linear layers: the board answers the first forward and part of the second. */
    static final int BOARD_RUNS_BEFORE_FAILING = 50;

    @TempDir Path dir;
    JobServer server;
    QbridgeClient client;
    final List<Accelerator> boardsOpened = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (client != null) client.close();
        if (server != null) server.close();
    }

    /** A board that computes with the emulator, then fails every run after {@code okRuns} runs with {@code fault}. */
    static Accelerator board(int okRuns, Runnable fault) {
        EmulatorAccelerator emu = new EmulatorAccelerator(EmulatorConfig.defaults());
        Accelerator board = mock(Accelerator.class, AdditionalAnswers.delegatesTo(emu));
        DeviceInfo e = emu.describe();
        doReturn(new DeviceInfo(DeviceKind.XRT, BOARD, e.arrayRows(), e.arrayCols(), e.clockMhz(), e.supportedFormats(), e.memoryBytes(),
                e.offChipBytesPerSecond())).when(board).describe();
        AtomicInteger runs = new AtomicInteger();
        doAnswer(inv -> {
            if (runs.incrementAndGet() > okRuns) fault.run();
            return emu.run(inv.getArgument(0), inv.getArgument(1), inv.getArgument(2), inv.getArgument(3));
        }).when(board).run(any(LayerHandle.class), any(float[].class), anyInt(), any(float[].class));
        return board;
    }

    /**
     * A server with the host path, the emulator and one board, {@code board}; the scheduler hands the board to
     * "xrt" jobs one at a time, and the device layer opens a real emulator for "emulator" jobs and fallbacks.
     */
    void start(java.util.function.Supplier<Accelerator> board, Duration deviceTimeout) throws Exception {
        Accelerator b = board.get();
        boardsOpened.add(b);
        AcceleratorSource source = (choice, cfg, log) -> switch (choice) {
            case "emulator" -> new EmulatorAccelerator(cfg);
            default -> throw new IllegalArgumentException(choice);
        };
        HostJobExecutor executor = new HostJobExecutor(new ComputeDevice.Host(1), source, deviceTimeout);
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), null).withWorkers(1), executor,
                List.of(executor.device(), JobServer.serverEmulator(1), new ComputeDevice.Board("board-0", b)));
        client = QbridgeClient.connect("127.0.0.1:" + server.port(), null);
    }

    static JobSpec bench(String device, boolean allowFallback) {
        return JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(ModelRef.newBuilder().setBuiltin("minilm")).setFormat("mxint8")
                .setDevice(device).setSentences(4).setRepeats(2).setWarmup(0).setAllowFallback(allowFallback)).build();
    }

    /** A fault that never returns (until interrupted): the run blocks, after counting {@code hung} down. */
    static Runnable hangs(CountDownLatch hung) {
        return () -> {
            hung.countDown();
            try {
                Thread.sleep(TimeUnit.MINUTES.toMillis(10));
            } catch (InterruptedException e) {
                throw new IllegalStateException("interrupted");
            }
        };
    }

    static final Runnable GONE = () -> {
        throw new IllegalStateException("XRT: device 0000:3b:00.1 is gone (xclExecBuf: No such device)");
    };

    @Test
    void aBoardThatDisappearsMidJobFailsTheJobNamingTheDevice() throws Exception {
        start(() -> board(BOARD_RUNS_BEFORE_FAILING, GONE), HostJobExecutor.DEFAULT_DEVICE_RUN_TIMEOUT);
        Job done = client.await(client.submit(bench("xrt", false), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_FAILED, done.getState());
        assertTrue(done.getError().contains(BOARD) && done.getError().contains("is gone"), done.getError());
        assertTrue(done.getError().contains("does not allow falling back"), done.getError());
        assertFalse(done.hasResult());
        verify(boardsOpened.getFirst(), atLeast(BOARD_RUNS_BEFORE_FAILING + 1)).run(any(), any(), anyInt(), any());

        // the server keeps serving: the next job, on the emulator, succeeds
        Job next = client.await(client.submit(bench("emulator", false), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, next.getState(), next.getError());
    }

    @Test
    void aJobThatAllowsFallbackIsRunAgainOnTheEmulatorAndSaysSo() throws Exception {
        start(() -> board(BOARD_RUNS_BEFORE_FAILING, GONE), HostJobExecutor.DEFAULT_DEVICE_RUN_TIMEOUT);
        List<JobEvent> events = new ArrayList<>();
        Job done = client.await(client.submit(bench("xrt", true), 0).getId(), events::add);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        var b = done.getResult().getBench();
        assertTrue(b.getFellBack());
        assertEquals(io.qbridge.protocol.v1.DeviceKind.DEVICE_KIND_EMULATOR, b.getDevice().getKind(), "the numbers are the emulator's");
        List<String> log = events.stream().filter(JobEvent::hasLogLine).map(JobEvent::getLogLine).toList();
        assertTrue(log.stream().anyMatch(l -> l.contains(BOARD) && l.contains("is gone") && l.contains("again on the emulator")), log.toString());
        assertEquals(2, b.getRuns());
        String json = new String(client.artifactBytes(done.getId(), ""), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(json.contains("\"kind\":\"emulator\""), json);
    }

    @Test
    void aRunJobOnABoardThatDisappearsFallsBackAndEqualsTheLocalEmulatorRun() throws Exception {
        start(() -> board(BOARD_RUNS_BEFORE_FAILING / 2, GONE), HostJobExecutor.DEFAULT_DEVICE_RUN_TIMEOUT);
        List<String> sentences = List.of("The board was removed while the job ran.", "The emulator computes the same integers.", "Short.");
        JobSpec spec = JobSpec.newBuilder().setRun(QbridgeClient.runSpec(ModelRef.newBuilder().setBuiltin("minilm").build(), "mxint8", sentences).getRun()
                .toBuilder().setDevice("xrt")).build();
        Job failed = client.await(client.submit(spec, 0).getId(), null);
        assertEquals(JobState.JOB_STATE_FAILED, failed.getState());
        assertTrue(failed.getError().contains(BOARD), failed.getError());

        List<JobEvent> events = new ArrayList<>();
        JobSpec allowing = spec.toBuilder().setRun(spec.getRun().toBuilder().setAllowFallback(true)).build();
        Job done = client.await(client.submit(allowing, 0).getId(), events::add);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        assertTrue(events.stream().filter(JobEvent::hasLogLine).anyMatch(e -> e.getLogLine().contains("again on the emulator")));

        // the result is the emulator's, bit for bit: the same quantized layers on a local emulator
        io.qbridge.model.bert.EncoderModel fp32 = io.qbridge.model.bert.EncoderModel.load(io.qbridge.model.bert.EncoderModel.Builtin.MINILM);
        var q = io.qbridge.pipeline.EncoderQuantizer.quantize(fp32, io.qbridge.pipeline.QuantRecipe.parse("mxint8"), List.of(), null);
        var onEmu = io.qbridge.runtime.AcceleratorModels.onDevice(q, new EmulatorAccelerator(EmulatorConfig.defaults()), new io.qbridge.runtime.RunStats());
        float[][] want = onEmu.embedIds(onEmu.tokenize(sentences, null), io.qbridge.model.bert.EncoderModel.DEFAULT_BATCH_TOKENS);
        float[][] got = QbridgeClient.embeddings(done);
        for (int i = 0; i < want.length; i++) org.junit.jupiter.api.Assertions.assertArrayEquals(want[i], got[i], 0f, "sentence " + i);
        var host = q.model().embedIds(q.model().tokenize(sentences, null), io.qbridge.model.bert.EncoderModel.DEFAULT_BATCH_TOKENS);
        assertFalse(java.util.Arrays.equals(host[0], got[0]), "the device path (INT8 activations) differs from the dequantized host path");
    }

    @Test
    void aBoardAskedForMxint8ActivationsRefusesBeforeRunningAndDoesNotFallBack() throws Exception {
        start(() -> board(Integer.MAX_VALUE, () -> {}), HostJobExecutor.DEFAULT_DEVICE_RUN_TIMEOUT);
        JobSpec spec = bench("xrt", true);
        spec = spec.toBuilder().setBench(spec.getBench().toBuilder().setActivations("mxint8")).build();
        Job done = client.await(client.submit(spec, 0).getId(), null);
        assertEquals(JobState.JOB_STATE_FAILED, done.getState());
        assertTrue(done.getError().contains(BOARD + " takes int8-token activations only; mxint8 runs on the emulator"), done.getError());
        verify(boardsOpened.getFirst(), org.mockito.Mockito.never()).run(any(), any(), anyInt(), any());
    }

    @Test
    void aDeviceRunThatNeverReturnsFailsTheJobWithTheDeviceTimeout() throws Exception {
        CountDownLatch hung = new CountDownLatch(1);
        Runnable hang = hangs(hung);
        start(() -> board(BOARD_RUNS_BEFORE_FAILING, hang), Duration.ofMillis(500));
        Job done = client.await(client.submit(bench("xrt", false), 0).getId(), null);
        assertEquals(0, hung.getCount(), "the board hung in a run");
        assertEquals(JobState.JOB_STATE_FAILED, done.getState());
        assertTrue(done.getError().startsWith("device timeout: " + BOARD + " did not return from a layer run within 500 ms"), done.getError());
    }

    @Test
    void aHungDeviceRunEndsAtTheJobsDeadline() throws Exception {
        CountDownLatch hung = new CountDownLatch(1);
        Runnable hang = hangs(hung);
        Accelerator hanging = board(0, hang); // made now: the first mock of a JVM takes seconds, which must not count against the limit
        start(() -> hanging, Duration.ofMinutes(10)); // only the job's own limit can end it
        // quantize first, so that the limit below is spent on the device, not on loading and quantizing MiniLM
        Job q = client.await(client.submit(QbridgeClient.quantizeSpec("minilm", "mxint8", 0), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, q.getState(), q.getError());
        JobSpec spec = JobSpec.newBuilder().setBench(bench("xrt", false).getBench().toBuilder().setFormat("")
                .setModel(ModelRef.newBuilder().setArtifactSha256(q.getResult().getQuantize().getContainer().getSha256()))).build();
        Job j = client.submitWithTimeout(spec, 0, 8_000);
        List<String> seen = new ArrayList<>();
        Job done = client.await(j.getId(), e -> seen.add(e.getTimeMillis() % 100000 + " " + e.getEventCase() + " " + e.getProgress().getStage() + e.getLogLine()));
        assertEquals(0, hung.getCount(), "the board hung in a run: " + seen);
        assertTrue(done.getError().startsWith("deadline exceeded"), done.getError());
    }

    @Test
    void aFullDiskFailsTheJobAndLeavesNoHalfWrittenArtifact() throws Exception {
        Path data = dir.resolve("data");
        HostJobExecutor real = new HostJobExecutor(new ComputeDevice.Host(1));
        // the executor sees the real store with one change: bytes stop reaching the disk after 100
        JobExecutor onFullDisk = (job, ctx) -> real.execute(job, new JobContext() {
            final ArtifactStore store = fullDisk(ctx.artifacts());
            public String jobId() { return ctx.jobId(); }
            public void progress(double f, String stage) { ctx.progress(f, stage); }
            public void log(String line) { ctx.log(line); }
            public void checkpoint() { ctx.checkpoint(); }
            public ArtifactStore artifacts() { return store; }
            public ComputeDevice device() { return ctx.device(); }
        });
        server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1), onFullDisk, List.of(TestServers.HOST, JobServer.serverEmulator(1)));
        client = QbridgeClient.connect("127.0.0.1:" + server.port(), null);
        Job done = client.await(client.submit(bench("emulator", false), 0).getId(), null);
        assertEquals(JobState.JOB_STATE_FAILED, done.getState());
        assertTrue(done.getError().contains("No space left on device"), done.getError());
        try (Stream<Path> stored = Files.walk(data.resolve("artifacts")); Stream<Path> tmp = Files.list(data.resolve("tmp"))) {
            assertEquals(List.of(), stored.filter(Files::isRegularFile).toList(), "nothing entered the store");
            assertEquals(List.of(), tmp.toList(), "the half-written temporary file is gone");
        }
        assertEquals(io.grpc.Status.Code.NOT_FOUND, org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                () -> client.artifactBytes(done.getId(), "")).getStatus().getCode());
    }

    /** The store, with every artifact write failing after 100 bytes as a full disk does. */
    static ArtifactStore fullDisk(ArtifactStore real) {
        ArtifactStore s = spy(real);
        try {
            doAnswer(inv -> {
                OutputStream disk = (OutputStream) inv.callRealMethod();
                return new FilterOutputStream(disk) {
                    long written;

                    @Override
                    public void write(int b) throws IOException {
                        if (++written > 100) throw new IOException("No space left on device");
                        out.write(b);
                    }

                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        for (int i = 0; i < len; i++) write(b[off + i]);
                    }
                };
            }).when(s).openForWrite(any(Path.class));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return s;
    }
}
