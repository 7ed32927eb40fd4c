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
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.FileBase;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.protocol.v1.RunResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fleet mode (issue 6): files named by sha256 (an upload, a quantize job's .qbz, the .qbz's file base) work
 * whichever server of a fleet runs the job. Real servers on loopback, one PostgreSQL schema
 * ({@code QBRIDGE_TEST_PG_URL}), MiniLM's real ONNX bytes as the upload; results checked against the local
 * CLI on the same files.
 */
class FleetStoredFilesTest {
    // RTN: no calibration pass, so the test stays short; the file handling is what is under test
    static final String RECIPE = "rtn-w4g128";
    static final List<String> SENTENCES = List.of("A fleet runs what any of its servers was given.", "Second sentence.");

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
    }

    private <T extends AutoCloseable> T open(T c) {
        open.add(c);
        return c;
    }

    /** MiniLM's ONNX under a file name, its tokenizer.json beside it: a base no server has built in. */
    private static Path base(Path dir) throws Exception {
        Path onnx = Files.createDirectories(dir.resolve("base")).resolve("model.onnx");
        Files.write(onnx, EncoderModel.onnxBytes(EncoderModel.Builtin.MINILM));
        Files.write(onnx.resolveSibling("tokenizer.json"), FileBase.builtinTokenizerBytes(EncoderModel.Builtin.MINILM));
        return onnx;
    }

    @Test
    void anUploadToAIsQuantizedAndRunByOtherServersThatFetchItAndTheBaseFromTheDatabase(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        Path base = base(dir);
        String baseSha = sha(Files.readAllBytes(base));
        // what the user gets locally: the quantized container and its embeddings on the emulator
        Path local = dir.resolve("local.qbz");
        Run lq = CliTest.run("quantize", "--model", base.toString(), "--format", RECIPE, "--out", local.toString());
        assertEquals(0, lq.exit(), lq.err());
        Path text = Files.writeString(dir.resolve("in.txt"), String.join("\n", SENTENCES) + "\n");
        Run lr = CliTest.run("run", "--model", local.toString(), "--base", base.toString(), "--device", "emulator", "--text", text.toString(), "--json");
        assertEquals(0, lr.exit(), lr.err());
        float[][] expected = embeddings(new ObjectMapper().readTree(lr.out()).get("embeddings"));

        // A: the host path only, held busy by a job that waits at a gate, so it claims nothing else
        TestServers.Gate gate = new TestServers.Gate();
        Path dataA = dir.resolve("a");
        JobServer a = open(TestFleet.hostOnly(url, dataA, "host-a", gate));
        QbridgeClient viaA = open(TestFleet.client(a));
        viaA.submit(QbridgeClient.runSpec("minilm", List.of("hold")), 0);
        assertTrue(gate.started.await(20, TimeUnit.SECONDS), "A took the holding job");
        try {
            Path dataB = dir.resolve("b");
            JobServer b = open(TestFleet.withBoard(url, dataB, "host-b", new HostJobExecutor(TestServers.HOST)));

            // the upload is acknowledged only once the database holds it, as a validated .onnx
            QbridgeClient.Upload up = viaA.uploadModel(base);
            assertEquals(baseSha, up.sha256());
            assertEquals("onnx", modelKind(url, baseSha));
            assertFalse(Files.exists(TestFleet.stored(dataB, baseSha)));

            // a quantize job on it through A, run by B (A is busy): byte-identical to local quantize, fetched through A
            ModelRef upload = ModelRef.newBuilder().setUploadSha256(baseSha).setTokenizerOf("minilm").build();
            JobSpec qs = QbridgeClient.quantizeSpec("minilm", RECIPE, 0);
            Job q = viaA.await(viaA.submit(qs.toBuilder().setQuantize(qs.getQuantize().toBuilder().setModel(upload)).build(), 0).getId(), null);
            assertEquals(JobState.JOB_STATE_SUCCEEDED, q.getState(), q.getError());
            assertTrue(Files.isRegularFile(TestFleet.stored(dataB, baseSha)), "B copied the upload from the database");
            assertEquals("onnx", Files.readString(TestFleet.stored(dataB, baseSha).resolveSibling(baseSha + ".model")), "and marked it an upload");
            String qsha = q.getResult().getQuantize().getContainer().getSha256();
            assertFalse(Files.exists(TestFleet.stored(dataA, qsha)), "A never had the container before the download");
            assertArrayEquals(Files.readAllBytes(local), viaA.artifactBytes(q.getId(), ""), "the remote .qbz differs from local quantize of the same file");

            // C: a server with a board and an empty store (B stopped, so C runs the board jobs): it fetches the
            // container and, while loading it, the file base it pins; then the uploaded .onnx, quantized on the fly
            b.close();
            Path dataC = dir.resolve("c");
            open(TestFleet.withBoard(url, dataC, "host-c", new HostJobExecutor(TestServers.HOST)));
            Job ra = viaA.await(viaA.submit(onBoard(ModelRef.newBuilder().setArtifactSha256(qsha).build(), ""), 0).getId(), null);
            assertEquals(JobState.JOB_STATE_SUCCEEDED, ra.getState(), ra.getError());
            assertTrue(Files.isRegularFile(TestFleet.stored(dataC, qsha)) && Files.isRegularFile(TestFleet.stored(dataC, baseSha)), "C fetched the container and its base");
            assertEmbeddings(expected, ra.getResult().getRun(), "the artifact run on C");
            Job ru = viaA.await(viaA.submit(onBoard(upload, RECIPE), 0).getId(), null);
            assertEquals(JobState.JOB_STATE_SUCCEEDED, ru.getState(), ru.getError());
            assertEmbeddings(expected, ru.getResult().getRun(), "the uploaded .onnx quantized with the same RTN recipe on C");

            // D: an upload of the .qbz to a server that never saw its base: the check finds the base in the database
            JobServer d = open(TestFleet.hostOnly(url, dir.resolve("d"), "host-d", new TestServers.Instant()));
            QbridgeClient viaD = open(TestFleet.client(d));
            assertEquals(qsha, viaD.uploadModel(local).sha256());
            assertEquals("qbz", modelKind(url, qsha), "the job's artifact is now an upload too");
        } finally {
            gate.open.countDown();
        }
    }

    @Test
    void aSharedCopyCorruptOrGoneBeforeTheRunFailsTheJobWithDataLossAndMissingEverywhereIsRefusedAtSubmit(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        Path base = base(dir);
        JobServer a = open(TestFleet.hostOnly(url, dir.resolve("a"), "host-a", new TestServers.Instant()));
        QbridgeClient viaA = open(TestFleet.client(a));
        String sha = viaA.uploadModel(base).sha256();
        ModelRef upload = ModelRef.newBuilder().setUploadSha256(sha).setTokenizerOf("minilm").build();
        Path dataB = dir.resolve("b");

        // queued through A while no server has a board; one bit of the shared copy flips; then B starts and claims it
        String corruptJob = viaA.submit(onBoard(upload, RECIPE), 0).getId();
        byte[] original;
        try (Connection c = TestFleet.sql(url)) {
            original = TestFleet.chunk(c, sha, 1);
            byte[] bad = original.clone();
            bad[bad.length / 3] ^= 1;
            TestFleet.setChunk(c, sha, 1, bad);
        }
        JobServer b = open(TestFleet.withBoard(url, dataB, "host-b", new HostJobExecutor(TestServers.HOST)));
        Job corrupt = viaA.await(corruptJob, null);
        b.close();
        assertEquals(JobState.JOB_STATE_FAILED, corrupt.getState());
        assertTrue(corrupt.getError().startsWith("DATA_LOSS: the shared copy of artifact " + sha + " is corrupt"), corrupt.getError());
        assertFalse(Files.exists(TestFleet.stored(dataB, sha)), "no bad copy entered B's store");
        try (var left = Files.list(dataB.resolve("tmp"))) {
            assertEquals(0, left.count(), "no temporary file left behind");
        }

        // repaired, then queued again, then deleted from the database before B claims it
        try (Connection c = TestFleet.sql(url)) {
            TestFleet.setChunk(c, sha, 1, original);
        }
        String goneJob = viaA.submit(onBoard(upload, RECIPE), 0).getId();
        try (Connection c = TestFleet.sql(url); PreparedStatement del = c.prepareStatement("DELETE FROM artifact_chunks WHERE sha256 = ?");
             PreparedStatement delBlob = c.prepareStatement("DELETE FROM artifact_blobs WHERE sha256 = ?")) {
            del.setString(1, sha);
            del.executeUpdate();
            delBlob.setString(1, sha);
            assertEquals(1, delBlob.executeUpdate());
        }
        b = open(TestFleet.withBoard(url, dataB, "host-b", new HostJobExecutor(TestServers.HOST)));
        Job gone = viaA.await(goneJob, null);
        assertEquals(JobState.JOB_STATE_FAILED, gone.getState());
        assertTrue(gone.getError().startsWith("DATA_LOSS: the job's model, upload " + sha + ", is gone"), gone.getError());

        // B can reach it nowhere now: refused at submit; A still holds it and copies it into the database again
        // when a job names it, so B runs that job
        QbridgeClient viaB = open(TestFleet.client(b));
        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> viaB.submit(onBoard(upload, RECIPE), 0));
        assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode());
        assertEquals("run.model: no uploaded model with sha256 '" + sha + "' on this server or in the fleet's shared database (upload it first with UploadModel)",
                refused.getStatus().getDescription());
        Job again = viaA.submit(onBoard(upload, RECIPE), 0);
        assertEquals("onnx", modelKind(url, sha), "A shared its copy before queueing the job");
        Job ran = viaA.await(again.getId(), null);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, ran.getState(), ran.getError());
        assertEquals(SENTENCES.size(), ran.getResult().getRun().getEmbeddingsCount());
    }

    @Test
    void anUploadIsCompleteOnlyOnceTheDatabaseHoldsItAndAFailedCopyKeepsTheBytesForTheRetry(@TempDir Path dir) throws Exception {
        String url = TestDatabases.freshPgSchema();
        byte[] model = EncoderModel.onnxBytes(EncoderModel.Builtin.MINILM);
        String sha = sha(model);
        try (JobStore store = JobStore.open(url, dir); Connection c = TestFleet.sql(url); java.sql.Statement st = c.createStatement()) {
            ArtifactStore local = new ArtifactStore(dir);
            UploadStore uploads = new UploadStore(dir, local, ServerConfig.Limits.DEFAULTS, store.sharedArtifacts().orElseThrow());
            for (int at = 0; at < model.length; at += UploadStore.MAX_CHUNK) {
                int n = Math.min(UploadStore.MAX_CHUNK, model.length - at);
                uploads.append("alice", io.qbridge.protocol.v1.UploadChunk.newBuilder().setUploadId("m").setOffset(at)
                        .setData(com.google.protobuf.ByteString.copyFrom(model, at, n)).build());
            }
            // the database refuses the copy (as a full or failing database would)
            st.execute("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql");
            st.execute("CREATE TRIGGER refuse BEFORE INSERT ON artifact_blobs FOR EACH ROW EXECUTE FUNCTION refuse()");
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> uploads.complete("alice", "m", sha, "model.onnx"));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), "the client retries");
            assertTrue(e.getStatus().getDescription().contains("all " + model.length + " bytes are kept"), e.getStatus().getDescription());
            assertEquals(model.length, uploads.received("alice", "m"), "the retry resumes at the end");
            assertEquals(null, local.validatedModelKind(sha), "not an upload here either: no server accepts a job naming it");
            assertEquals(null, modelKind(url, sha));

            // the retry: the database works again, the client sends only the last, empty chunk
            st.execute("DROP TRIGGER refuse ON artifact_blobs");
            assertEquals(model.length, uploads.append("alice", io.qbridge.protocol.v1.UploadChunk.newBuilder().setUploadId("m").setOffset(model.length)
                    .setLast(true).setSha256(sha).build()));
            io.qbridge.protocol.v1.UploadStatus done = uploads.complete("alice", "m", sha, "model.onnx");
            assertTrue(done.getComplete());
            assertEquals(sha, done.getSha256());
            assertEquals("onnx", modelKind(url, sha));
            assertEquals("onnx", local.validatedModelKind(sha));
        }
    }

    private static JobSpec onBoard(ModelRef model, String format) {
        JobSpec s = QbridgeClient.runSpec(model, format, SENTENCES);
        return s.toBuilder().setRun(s.getRun().toBuilder().setDevice("board")).build();
    }

    private static void assertEmbeddings(float[][] expected, RunResult r, String what) {
        assertEquals(expected.length, r.getEmbeddingsCount(), what);
        for (int i = 0; i < expected.length; i++) {
            List<Float> v = r.getEmbeddings(i).getValuesList();
            float[] got = new float[v.size()];
            for (int j = 0; j < got.length; j++) got[j] = v.get(j);
            assertArrayEquals(expected[i], got, what + ": sentence " + i + " differs from the local run");
        }
    }

    private static float[][] embeddings(JsonNode rows) {
        float[][] out = new float[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new float[rows.get(i).size()];
            for (int j = 0; j < out[i].length; j++) out[i][j] = (float) rows.get(i).get(j).doubleValue();
        }
        return out;
    }

    private static String modelKind(String url, String sha) throws Exception {
        try (Connection c = TestFleet.sql(url); PreparedStatement ps = c.prepareStatement("SELECT model_kind FROM artifact_blobs WHERE sha256 = ?")) {
            ps.setString(1, sha);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
