package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.qbridge.client.QbridgeClient;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedEncoders;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobServiceGrpc;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.protocol.v1.UploadChunk;
import io.qbridge.protocol.v1.UploadStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resumable model uploads on a real loopback socket, with real models, a real executor and real files. */
class UploadTest {
    static final int MIB = 1 << 20;
    static final long LIMIT = 200L * MIB; // above the models uploaded here
    static final List<String> SENTENCES = List.of("An uploaded model computes what the built-in computes.", "Resumed uploads end complete.", "Short.");

    @TempDir static Path dir;
    static JobServer server;
    static ManagedChannel channel;
    static QbridgeClient alice, bob;

    @BeforeAll
    static void start() throws Exception {
        Path tokens = dir.resolve("tokens");
        Files.writeString(tokens, TokenFile.line("alice", Caller.Role.CLIENT, "alice-secret") + "\n" + TokenFile.line("bob", Caller.Role.CLIENT, "bob-secret") + "\n"
                + TokenFile.line("carol", Caller.Role.CLIENT, "carol-secret") + "\n");
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), tokens).withWorkers(1).withLimits(new ServerConfig.Limits(LIMIT, 64, 3)));
        String addr = "127.0.0.1:" + server.port();
        alice = QbridgeClient.connect(addr, "alice-secret");
        bob = QbridgeClient.connect(addr, "bob-secret");
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        alice.close();
        bob.close();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
    }

    static JobServiceGrpc.JobServiceStub stub(String token) {
        Metadata m = new Metadata();
        m.put(BearerAuthInterceptor.AUTHORIZATION, "Bearer " + token);
        return JobServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
    }

    /** Sends the chunks on one stream, closes it, and returns the answer (or throws its status). */
    static UploadStatus send(String token, List<UploadChunk> chunks) throws Exception {
        CompletableFuture<UploadStatus> answer = new CompletableFuture<>();
        StreamObserver<UploadChunk> req = stub(token).uploadModel(new StreamObserver<>() {
            public void onNext(UploadStatus s) { answer.complete(s); }
            public void onError(Throwable t) { answer.completeExceptionally(t); }
            public void onCompleted() {}
        });
        for (UploadChunk c : chunks) req.onNext(c);
        req.onCompleted();
        try {
            return answer.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    static long received(String token, String id) throws Exception {
        return send(token, List.of(UploadChunk.newBuilder().setUploadId(id).build())).getReceived();
    }

    /**
     * {@link #received} once the server is done with a stream the client broke: a chunk that reached the server before
     * the cancel may still be being stored when the client's side of the call has ended (seen in CI: 4 MiB read here,
     * then 5 MiB when the client resumed), so the count must hold still for half a second (at most 10 s of waiting).
     */
    static long settledReceived(String token, String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10), last = received(token, id);
        while (System.nanoTime() < deadline) {
            Thread.sleep(500);
            long now = received(token, id);
            if (now == last) return now;
            last = now;
        }
        return last;
    }

    /** The file's chunks from {@code from}, the last one carrying {@code sha}. */
    static List<UploadChunk> chunks(String id, byte[] file, int from, String sha) {
        List<UploadChunk> out = new ArrayList<>();
        for (int pos = from; pos < file.length; pos += MIB) {
            int n = Math.min(MIB, file.length - pos);
            UploadChunk.Builder c = UploadChunk.newBuilder().setUploadId(id).setOffset(pos).setData(ByteString.copyFrom(file, pos, n));
            if (pos + n == file.length) c.setLast(true).setSha256(sha);
            out.add(c.build());
        }
        return out;
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static StatusRuntimeException failure(org.junit.jupiter.api.function.Executable call) {
        return assertThrows(StatusRuntimeException.class, call);
    }

    static long storedFiles() throws Exception {
        try (Stream<Path> s = Files.walk(dir.resolve("data/artifacts"))) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    static long partFiles(String id) throws Exception {
        try (Stream<Path> s = Files.walk(dir.resolve("data/uploads"))) {
            return s.filter(p -> p.getFileName().toString().equals(id + ".part")).count();
        }
    }

    static float[][] runRemote(ModelRef ref) {
        Job j = alice.submit(QbridgeClient.runSpec(ref, "", SENTENCES), 0);
        Job done = alice.await(j.getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), done.getError());
        return QbridgeClient.embeddings(done);
    }

    static void assertBitIdentical(float[][] expected, float[][] got) {
        assertEquals(expected.length, got.length);
        for (int i = 0; i < expected.length; i++) {
            int[] e = new int[expected[i].length], g = new int[got[i].length];
            for (int k = 0; k < e.length; k++) e[k] = Float.floatToRawIntBits(expected[i][k]);
            for (int k = 0; k < g.length; k++) g[k] = Float.floatToRawIntBits(got[i][k]);
            assertArrayEquals(e, g, "sentence " + i);
        }
    }

    @Test
    void anInterruptedUploadOfAnOnnxModelResumesAndRunsToTheBuiltInsEmbeddings() throws Exception {
        // MiniLM's ONNX from its Maven jar (90 MB; bge-small's 133 MB proves nothing more and takes longer)
        byte[] onnx = EncoderModel.onnxBytes(EncoderModel.Builtin.MINILM);
        Path file = dir.resolve("all-minilm-l6-v2.onnx");
        Files.write(file, onnx);
        String sha = sha256(onnx);
        String id = "resume-minilm";

        // three chunks, then the client closes the stream without the last one: the server keeps what it has
        UploadStatus partial = send("alice-secret", chunks(id, onnx, 0, sha).subList(0, 3));
        assertEquals(3L * MIB, partial.getReceived());
        assertFalse(partial.getComplete());
        // two more on a stream that breaks (the client cancels it): whatever arrived stays acknowledged
        CompletableFuture<Throwable> ended = new CompletableFuture<>();
        StreamObserver<UploadChunk> req = stub("alice-secret").uploadModel(new StreamObserver<>() {
            public void onNext(UploadStatus s) {}
            public void onError(Throwable t) { ended.complete(t); }
            public void onCompleted() { ended.complete(null); }
        });
        for (UploadChunk c : chunks(id, onnx, 3 * MIB, sha).subList(0, 2)) req.onNext(c);
        req.onError(new RuntimeException("connection lost"));
        ended.get(10, TimeUnit.SECONDS);
        long held = settledReceived("alice-secret", id);
        assertTrue(held >= 3L * MIB && held <= 5L * MIB && held % MIB == 0, "the server holds whole chunks: " + held);
        assertEquals(0, received("bob-secret", id), "upload ids belong to their client");

        List<Long> progress = new ArrayList<>();
        QbridgeClient.Upload u = alice.uploadModel(file, id, progress::add);
        assertEquals(sha, u.sha256());
        assertEquals(onnx.length, u.size());
        assertEquals(held, u.resumedAt(), "the client continued at the acknowledged offset");
        assertEquals(held, progress.getFirst());
        assertEquals(onnx.length, progress.getLast());
        assertEquals(0, partFiles(id), "a completed upload leaves no partial file");

        ModelRef ref = ModelRef.newBuilder().setUploadSha256(sha).setTokenizerOf("minilm").build();
        EncoderModel builtin = EncoderModel.load(EncoderModel.Builtin.MINILM);
        assertBitIdentical(builtin.embedIds(builtin.tokenize(SENTENCES, null), EncoderModel.DEFAULT_BATCH_TOKENS), runRemote(ref));

        // an .onnx names its tokenizer; a wrong or missing one is refused at submit
        StatusRuntimeException noTok = failure(() -> alice.submit(QbridgeClient.runSpec(ModelRef.newBuilder().setUploadSha256(sha).build(), "", SENTENCES), 0));
        assertEquals(Status.Code.INVALID_ARGUMENT, noTok.getStatus().getCode());
        assertTrue(noTok.getStatus().getDescription().contains("tokenizer_of"), noTok.getStatus().getDescription());
        // (quantize jobs on an uploaded .onnx: UploadedQuantizeTest)
    }

    @Test
    void anUploadedQbzRunsAsTheLocalContainerDoes() throws Exception {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("mxint8"), List.of(), null);
        Path qbz = dir.resolve("minilm-mxint8.qbz");
        QuantizedEncoders.save(qbz, EncoderModel.Builtin.MINILM, r);
        // through a relay whose connection is reset after 4 MiB: the client asks where the server is and goes on
        QbridgeClient.Upload u;
        long[] cutAt = {-1};
        try (CuttableRelay relay = new CuttableRelay(server.port()); QbridgeClient viaRelay = QbridgeClient.connect("127.0.0.1:" + relay.port(), "alice-secret")) {
            u = viaRelay.uploadModel(qbz, null, n -> {
                if (cutAt[0] < 0 && n >= 4 * MIB) {
                    cutAt[0] = n;
                    relay.cut();
                }
            });
        }
        assertTrue(cutAt[0] > 0, "the connection was cut");
        assertTrue(u.resumedAt() > 0 && u.resumedAt() <= cutAt[0], "resumed at " + u.resumedAt() + ", cut after sending " + cutAt[0]);
        assertEquals(sha256(Files.readAllBytes(qbz)), u.sha256());
        assertEquals(new QbridgeClient.Upload(u.sha256(), u.size(), 0), alice.uploadModel(qbz), "uploading the same file again starts afresh and names the same content");

        EncoderModel local = QuantizedEncoders.load(qbz).model();
        assertBitIdentical(local.embedIds(local.tokenize(SENTENCES, null), EncoderModel.DEFAULT_BATCH_TOKENS),
                runRemote(ModelRef.newBuilder().setUploadSha256(u.sha256()).build()));
        StatusRuntimeException fmt = failure(() -> alice.submit(QbridgeClient.runSpec(ModelRef.newBuilder().setUploadSha256(u.sha256()).build(), "mxint8", SENTENCES), 0));
        assertTrue(fmt.getStatus().getDescription().contains("already quantized"), fmt.getStatus().getDescription());

        // a damaged container (one byte of a tensor changed, sha256 matching the damaged bytes) is not a model
        byte[] bad = Files.readAllBytes(qbz);
        bad[bad.length - 3] ^= 0x55;
        long before = storedFiles();
        StatusRuntimeException e = failure(() -> send("alice-secret", chunks("bad-qbz", bad, 0, sha256(bad))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("not a usable model: a .qbz container that does not load"), e.getStatus().getDescription());
        assertEquals(before, storedFiles());
    }

    @Test
    void aWrongSha256IsInvalidArgumentAndNothingIsStored() throws Exception {
        byte[] data = random(3 * MIB + 17, 1);
        long before = storedFiles();
        StatusRuntimeException e = failure(() -> send("alice-secret", chunks("wrong-sha", data, 0, "0".repeat(64))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("have sha256 " + sha256(data) + ", not " + "0".repeat(64)), e.getStatus().getDescription());
        assertEquals(before, storedFiles());
        assertEquals(0, partFiles("wrong-sha"), "the upload is dropped");
    }

    @Test
    void aFileThatIsNotAModelIsInvalidArgumentSayingWhy() throws Exception {
        byte[] text = "this is not a model\n".repeat(1000).getBytes();
        long before = storedFiles();
        StatusRuntimeException e = failure(() -> send("alice-secret", chunks("text", text, 0, sha256(text))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("not a usable model: neither a .qbz container nor a BERT .onnx"), e.getStatus().getDescription());
        assertEquals(before, storedFiles());
        assertEquals(0, partFiles("text"));
        StatusRuntimeException run = failure(() -> alice.submit(QbridgeClient.runSpec(ModelRef.newBuilder().setUploadSha256(sha256(text)).build(), "", SENTENCES), 0));
        assertEquals(Status.Code.FAILED_PRECONDITION, run.getStatus().getCode(), "well formed, but the server lacks the upload");
        assertTrue(run.getStatus().getDescription().contains("no uploaded model with sha256"), run.getStatus().getDescription());
    }

    @Test
    void aChunkAtTheWrongOffsetSaysWhereToContinue() throws Exception {
        byte[] data = random(2 * MIB, 2);
        List<UploadChunk> cs = chunks("gap", data, 0, sha256(data));
        StatusRuntimeException e = failure(() -> send("alice-secret", List.of(cs.get(1))));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertEquals("upload gap: chunk at offset " + MIB + ", but the server holds 0 bytes of it; continue at offset 0", e.getStatus().getDescription());
        assertEquals(MIB, send("alice-secret", List.of(cs.get(0))).getReceived());
        StatusRuntimeException again = failure(() -> send("alice-secret", List.of(cs.get(0))));
        assertTrue(again.getStatus().getDescription().endsWith("continue at offset " + MIB), "a repeated chunk is not appended twice");
        assertEquals(MIB, received("alice-secret", "gap"));
        send("alice-secret", List.of(cs.get(1).toBuilder().setLast(false).setSha256("").build())); // complete the bytes, then drop by a wrong digest
        failure(() -> send("alice-secret", List.of(UploadChunk.newBuilder().setUploadId("gap").setOffset(2 * MIB).setLast(true).setSha256("1".repeat(64)).build())));
        assertEquals(0, received("alice-secret", "gap"));
    }

    @Test
    void badIdsAndOversizedChunksAreInvalidArgument() throws Exception {
        for (String id : List.of("", "../../etc/passwd", "a/b", "x".repeat(65), "ü")) {
            StatusRuntimeException e = failure(() -> received("alice-secret", id));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), id);
            assertTrue(e.getStatus().getDescription().startsWith("upload_id: must be 1 to 64 characters"), e.getStatus().getDescription());
        }
        UploadChunk big = UploadChunk.newBuilder().setUploadId("big").setData(ByteString.copyFrom(new byte[MIB + 1])).build();
        assertEquals("data: a chunk holds at most 1048576 bytes (got 1048577)", failure(() -> send("alice-secret", List.of(big))).getStatus().getDescription());
        UploadChunk noSha = UploadChunk.newBuilder().setUploadId("nosha").setData(ByteString.copyFromUtf8("x")).setLast(true).build();
        assertEquals(Status.Code.INVALID_ARGUMENT, failure(() -> send("alice-secret", List.of(noSha))).getStatus().getCode());
        UploadChunk c1 = UploadChunk.newBuilder().setUploadId("one").build(), c2 = UploadChunk.newBuilder().setUploadId("two").build();
        assertTrue(failure(() -> send("alice-secret", List.of(c1, c2))).getStatus().getDescription().contains("every chunk of a stream carries the same id"));
        assertEquals(Status.Code.INVALID_ARGUMENT, failure(() -> send("alice-secret", List.of())).getStatus().getCode());
    }

    @Test
    void anUploadPastTheSizeLimitIsResourceExhaustedAndDroppedWhileOthersGoOn() throws Exception {
        UploadChunk first = UploadChunk.newBuilder().setUploadId("huge").setData(ByteString.copyFrom(random(MIB, 3))).build();
        assertEquals(MIB, send("alice-secret", List.of(first)).getReceived());
        UploadChunk past = UploadChunk.newBuilder().setUploadId("huge").setOffset(LIMIT - 10).setData(ByteString.copyFrom(new byte[11])).build();
        StatusRuntimeException e = failure(() -> send("alice-secret", List.of(past)));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertEquals("upload huge would exceed the server's upload limit of " + LIMIT + " bytes", e.getStatus().getDescription());
        assertEquals(0, received("alice-secret", "huge"), "an upload that can never complete is dropped");
        assertFalse(bob.devices().isEmpty(), "the server keeps serving");
        assertEquals(100, send("bob-secret", List.of(UploadChunk.newBuilder().setUploadId("small").setData(ByteString.copyFrom(new byte[100])).build())).getReceived());
    }

    @Test
    void unfinishedUploadsSurviveARestartUnlessAbandoned(@TempDir Path other) throws Exception {
        ArtifactStore artifacts = new ArtifactStore(other);
        UploadStore store = new UploadStore(other, artifacts, ServerConfig.Limits.DEFAULTS);
        UploadChunk c = UploadChunk.newBuilder().setUploadId("kept").setData(ByteString.copyFromUtf8("12345")).build();
        store.append("dave", c);
        store.append("dave", c.toBuilder().setUploadId("old").build());
        Path old;
        try (Stream<Path> s = Files.walk(other.resolve("uploads"))) {
            old = s.filter(p -> p.getFileName().toString().equals("old.part")).findFirst().orElseThrow();
        }
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(UploadStore.ABANDONED).minusSeconds(60)));
        UploadStore restarted = new UploadStore(other, artifacts, ServerConfig.Limits.DEFAULTS);
        assertEquals(5, restarted.received("dave", "kept"), "a resume after a restart continues at the bytes on disk");
        assertEquals(0, restarted.received("dave", "old"), "an upload untouched for " + UploadStore.ABANDONED.toDays() + " days is deleted");
    }

    @Test
    void aClientHoldsAtMostItsLimitOfUnfinishedUploads() throws Exception {
        UploadChunk.Builder c = UploadChunk.newBuilder().setData(ByteString.copyFrom(new byte[10]));
        for (int i = 0; i < 3; i++) send("carol-secret", List.of(c.setUploadId("open" + i).build()));
        StatusRuntimeException e = failure(() -> send("carol-secret", List.of(c.setUploadId("open3").build())));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("3 unfinished uploads"), e.getStatus().getDescription());
        assertEquals(20, send("carol-secret", List.of(c.setUploadId("open0").setOffset(10).build())).getReceived(), "an open one still resumes");
        assertEquals(10, send("alice-secret", List.of(c.setUploadId("open3").setOffset(0).build())).getReceived(), "the limit is per client");
        // a finished (here: failed) upload no longer counts
        failure(() -> send("carol-secret", List.of(UploadChunk.newBuilder().setUploadId("open1").setOffset(10).setLast(true).setSha256("2".repeat(64)).build())));
        assertEquals(10, send("carol-secret", List.of(c.setUploadId("open3").setOffset(0).build())).getReceived());
    }
}
