package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.cli.CliTest;
import io.qbridge.cli.CliTest.Run;
import io.qbridge.client.QbridgeClient;
import io.qbridge.container.QbzFile;
import io.qbridge.container.QbzManifest;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.FileBase;
import io.qbridge.pipeline.QuantizedEncoders;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quantize jobs on an uploaded BERT .onnx (issue 6), end to end as a user runs them: the CLI against a real
 * JobServer on a loopback socket and a temp directory, with MiniLM's real ONNX bytes copied to a file (the
 * base the server does not have built in), checked against local {@code qbridge quantize} of the same file.
 */
class UploadedQuantizeTest {
    // RTN: GPTQ would add ~12 s per side on a loaded 2-core machine and prove nothing more about the container;
    // the tokenizer's identity is in the bytes anyway (the manifest pins its sha256)
    static final String RECIPE = "rtn-w4g128";
    static final String CALIBRATION = "16";

    @TempDir static Path dir;
    static JobServer server;
    static String addr;
    static Path base, otherBase, wrongTokenizerBase, text;
    static String baseSha;

    @BeforeAll
    static void start() throws Exception {
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), null).withWorkers(1));
        addr = "127.0.0.1:" + server.port();
        // the base: MiniLM's ONNX from its Maven jar under a file name, its tokenizer.json beside it
        byte[] onnx = EncoderModel.onnxBytes(EncoderModel.Builtin.MINILM);
        base = write("base/model.onnx", onnx);
        write("base/tokenizer.json", FileBase.builtinTokenizerBytes(EncoderModel.Builtin.MINILM));
        baseSha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(onnx));
        // a different base (bge-small), and the right ONNX beside the wrong tokenizer
        otherBase = write("other/model.onnx", EncoderModel.onnxBytes(EncoderModel.Builtin.BGE_SMALL));
        write("other/tokenizer.json", FileBase.builtinTokenizerBytes(EncoderModel.Builtin.BGE_SMALL));
        wrongTokenizerBase = write("wrongtok/model.onnx", onnx);
        write("wrongtok/tokenizer.json", FileBase.builtinTokenizerBytes(EncoderModel.Builtin.BGE_SMALL));
        text = dir.resolve("in.txt");
        Files.writeString(text, "A quantized upload embeds as the local container does.\nSecond line, different words.\nThird.\n");
    }

    static Path write(String name, byte[] bytes) throws Exception {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        return Files.write(p, bytes);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    static Run cli(String... args) {
        return CliTest.run(args);
    }

    static String fetchedPath(Run r) {
        Matcher m = Pattern.compile("wrote (\\S+\\.qbz)").matcher(r.out());
        assertTrue(m.find(), r.out());
        return m.group(1);
    }

    @Test
    void remoteQuantizeOfAnUploadedOnnxIsByteIdenticalToLocalAndRunsTheSameLocallyAndRemotely() throws Exception {
        Path local = dir.resolve("local.qbz");
        Run lq = cli("quantize", "--model", base.toString(), "--format", RECIPE, "--calibration", CALIBRATION, "--out", local.toString());
        assertEquals(0, lq.exit(), lq.err());

        Path out = Files.createDirectories(dir.resolve("remote"));
        Run rq = cli("submit", "--server", addr, "quantize", "--model", base.toString(), "--tokenizer-of", "minilm", "--format", RECIPE,
                "--calibration", CALIBRATION, "--out", out.toString());
        assertEquals(0, rq.exit(), rq.err());
        assertTrue(rq.err().contains("uploaded model.onnx"), rq.err());
        Path fetched = Path.of(fetchedPath(rq));
        assertArrayEquals(Files.readAllBytes(local), Files.readAllBytes(fetched), "the remote .qbz differs from local quantize of the same file");
        String label = QbzManifest.externalLabel(baseSha);
        assertEquals(label + "-" + RECIPE + ".qbz", fetched.getFileName().toString());

        // what the container says about its base: a label, the exact bytes, the tokenizer and pooling
        QbzManifest m = QbzFile.open(fetched).manifest();
        assertEquals(label, m.model());
        assertEquals(baseSha, m.baseSha256());
        assertEquals(new QbzManifest.External(sha(base.resolveSibling("tokenizer.json")), "mean"), m.external());

        // qbridge fetch returns the same bytes
        Matcher id = Pattern.compile("submitted job (j-[0-9a-f]+)").matcher(rq.err());
        assertTrue(id.find(), rq.err());
        Path fetchDir = dir.resolve("fetch");
        Run f = cli("fetch", "--server", addr, id.group(1), "--out", fetchDir.toString());
        assertEquals(0, f.exit(), f.err());
        assertArrayEquals(Files.readAllBytes(local), Files.readAllBytes(fetchDir.resolve(fetched.getFileName())));

        // the fetched .qbz with its base, locally (embed: host path), equals the remote run of that .qbz,
        // uploaded (the server finds the base among its uploads by sha256) and named as the job's artifact
        Run le = cli("embed", "--model", fetched.toString(), "--base", base.toString(), "--text", text.toString(), "--json");
        assertEquals(0, le.exit(), le.err());
        Run ru = cli("submit", "--server", addr, "run", "--model", fetched.toString(), "--text", text.toString(), "--json");
        assertEquals(0, ru.exit(), ru.err());
        Run ra = cli("submit", "--server", addr, "run", "--model", "sha256:" + sha(fetched), "--text", text.toString(), "--json");
        assertEquals(0, ra.exit(), ra.err());
        assertEquals(le.out(), ru.out(), "remote run of the uploaded .qbz");
        assertEquals(le.out(), ra.out(), "remote run of the quantize job's artifact");
        assertTrue(le.out().startsWith("{\"model\":\"" + label + "\""), le.out());
        // and the quantization did something: FP32 embeddings of the same base differ
        Run fp32 = cli("embed", "--model", "minilm", "--text", text.toString(), "--json");
        assertNotEquals(fp32.out().substring(fp32.out().indexOf("\"embeddings\"")), le.out().substring(le.out().indexOf("\"embeddings\"")));

        // on the device path (run --device emulator) the local container needs the same --base
        Run dev = cli("run", "--model", fetched.toString(), "--base", base.toString(), "--device", "emulator", "--text", text.toString(), "--json");
        assertEquals(0, dev.exit(), dev.err());
        assertTrue(dev.out().startsWith("{\"model\":\"" + label + "\",\"format\":\"" + m.format() + "\""), dev.out());
        // and the server's emulator computes the same vectors from the artifact (the server finds its base)
        Run rdev = cli("submit", "--server", addr, "run", "--model", "sha256:" + sha(fetched), "--device", "emulator", "--text", text.toString(), "--json");
        assertEquals(0, rdev.exit(), rdev.err());
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        assertEquals(json.readTree(dev.out()).get("embeddings"), json.readTree(rdev.out()).get("embeddings"));
        assertNotEquals(json.readTree(dev.out()).get("embeddings"), json.readTree(le.out()).get("embeddings"), "the device path is not the host path");

        // wrong or missing base: one clear error naming both digests, exit 2
        Run wrong = cli("embed", "--model", fetched.toString(), "--base", otherBase.toString(), "--text", text.toString());
        assertEquals(2, wrong.exit(), wrong.err());
        assertTrue(wrong.err().contains("was quantized from the base with sha256 " + baseSha + ", but the base given (" + otherBase + ") has sha256 " + sha(otherBase)),
                wrong.err());
        Run wrongTok = cli("embed", "--model", fetched.toString(), "--base", wrongTokenizerBase.toString(), "--text", text.toString());
        assertEquals(2, wrongTok.exit(), wrongTok.err());
        assertTrue(wrongTok.err().contains("was quantized with the tokenizer.json of sha256 " + m.external().tokenizerSha256() + ", but the base given ("
                + wrongTokenizerBase + ") has a tokenizer of sha256 " + sha(wrongTokenizerBase.resolveSibling("tokenizer.json"))), wrongTok.err());
        Run none = cli("embed", "--model", fetched.toString(), "--text", text.toString());
        assertEquals(2, none.exit(), none.err());
        assertTrue(none.err().contains("not built in: the BERT .onnx with sha256 " + baseSha) && none.err().contains("--base FILE.onnx"), none.err());
    }

    @Test
    void aContainerOnAnUploadedBaseIsNotAModelWhereThatBaseWasNeverUploaded(@TempDir Path other) throws Exception {
        EncoderModel fp32 = FileBase.read(base, base.resolveSibling("tokenizer.json")).model(io.qbridge.model.bert.Pooling.MEAN);
        var r = io.qbridge.pipeline.EncoderQuantizer.quantize(fp32, io.qbridge.pipeline.QuantRecipe.parse("mxint8"), List.of(), null);
        Path qbz = other.resolve("m.qbz");
        QuantizedEncoders.save(qbz, FileBase.read(base, base.resolveSibling("tokenizer.json")), fp32.pooling(), r);
        // the same check an upload's completion runs, on a store that holds no uploads
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> UploadStore.validateModel(qbz, UploadedModels.bases(new ArtifactStore(other.resolve("data")))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("not a usable model: a .qbz container that does not load: base " + baseSha
                + ": the container's base (a BERT .onnx with this sha256) is not an uploaded model on this server; upload it first"), e.getStatus().getDescription());

        // the same through the CLI on a second server: refused until the base is uploaded, which --base does first
        try (JobServer fresh = JobServer.start(ServerConfig.loopback(0, other.resolve("data2"), null).withWorkers(1))) {
            String at = "127.0.0.1:" + fresh.port();
            Run refused = cli("submit", "--server", at, "run", "--model", qbz.toString(), "--text", text.toString(), "--json");
            assertEquals(2, refused.exit(), refused.err());
            assertTrue(refused.err().contains("is not an uploaded model on this server; upload it first"), refused.err());
            Run ran = cli("submit", "--server", at, "run", "--model", qbz.toString(), "--base", base.toString(), "--text", text.toString(), "--json");
            assertEquals(0, ran.exit(), ran.err());
            Run local = cli("embed", "--model", qbz.toString(), "--base", base.toString(), "--text", text.toString(), "--json");
            assertEquals(0, local.exit(), local.err());
            assertEquals(local.out(), ran.out());
        }
    }

    @Test
    void aQuantizeJobNamingAMissingUploadIsFailedPreconditionAndOtherBadRefsInvalidArgument() throws Exception {
        try (QbridgeClient c = QbridgeClient.connect(addr, null)) {
            String missing = "0123456789abcdef".repeat(4);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> c.submit(quantize(ModelRef.newBuilder().setUploadSha256(missing).setTokenizerOf("minilm").build()), 0));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
            assertEquals("quantize.model: no uploaded model with sha256 '" + missing + "' on this server (upload it first with UploadModel)",
                    e.getStatus().getDescription());

            QbridgeClient.Upload u = c.uploadModel(base);
            StatusRuntimeException noTok = assertThrows(StatusRuntimeException.class,
                    () -> c.submit(quantize(ModelRef.newBuilder().setUploadSha256(u.sha256()).build()), 0));
            assertEquals(Status.Code.INVALID_ARGUMENT, noTok.getStatus().getCode());
            assertTrue(noTok.getStatus().getDescription().startsWith("quantize.model.tokenizer_of: an uploaded .onnx needs"), noTok.getStatus().getDescription());

            // an artifact, or an uploaded .qbz, is already quantized
            StatusRuntimeException art = assertThrows(StatusRuntimeException.class,
                    () -> c.submit(quantize(ModelRef.newBuilder().setArtifactSha256(missing).build()), 0));
            assertEquals(Status.Code.INVALID_ARGUMENT, art.getStatus().getCode());
            assertTrue(art.getStatus().getDescription().contains("already quantized"), art.getStatus().getDescription());
            Path qbz = dir.resolve("builtin.qbz");
            Run lq = cli("quantize", "--model", "minilm", "--format", "mxint8", "--out", qbz.toString());
            assertEquals(0, lq.exit(), lq.err());
            String qsha = c.uploadModel(qbz).sha256();
            StatusRuntimeException up = assertThrows(StatusRuntimeException.class,
                    () -> c.submit(quantize(ModelRef.newBuilder().setUploadSha256(qsha).build()), 0));
            assertEquals(Status.Code.INVALID_ARGUMENT, up.getStatus().getCode());
            assertTrue(up.getStatus().getDescription().contains("is a .qbz container, already quantized"), up.getStatus().getDescription());

            // an RTN quantize job on the upload runs to an artifact a run job can name
            Job j = c.await(c.submit(quantize(ModelRef.newBuilder().setUploadSha256(u.sha256()).setTokenizerOf("minilm").build()), 0).getId(), null);
            assertEquals(JobState.JOB_STATE_SUCCEEDED, j.getState(), j.getError());
            assertEquals(QbzManifest.externalLabel(baseSha) + "-mxint8.qbz", j.getResult().getQuantize().getContainer().getName());
        }
        Run cliMissing = cli("submit", "--server", addr, "quantize", "--model", dir.resolve("nope.onnx").toString(), "--tokenizer-of", "minilm", "--format", "mxint8");
        assertEquals(2, cliMissing.exit(), cliMissing.err());
        assertTrue(cliMissing.err().contains("nope.onnx: no such file"), cliMissing.err());
    }

    static JobSpec quantize(ModelRef ref) {
        JobSpec s = QbridgeClient.quantizeSpec("minilm", "mxint8", 0);
        return s.toBuilder().setQuantize(s.getQuantize().toBuilder().setModel(ref)).build();
    }

    static String sha(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }
}
