package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qbridge.cli.CliTest;
import io.qbridge.cli.CliTest.Run;
import io.qbridge.model.bert.EncoderModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI against a TLS server made from `serve --init-tls`: TLS flags, a model file uploaded by `submit run --model FILE`, one-line errors. */
class SecureRemoteCliTest {
    @TempDir static Path dir;
    static JobServer server;
    static String addr;
    static Path cert;

    @BeforeAll
    static void start() throws Exception {
        Run init = CliTest.run("serve", "--init-tls", dir.resolve("tls").toString());
        assertEquals(0, init.exit(), init.err());
        assertTrue(init.out().contains("--tls-cert " + dir.resolve("tls/server-cert.pem")) && init.out().contains("--tls-ca "), init.out());
        cert = dir.resolve("tls").resolve(TlsSelfSigned.CERT_FILE);
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), null).withWorkers(1)
                .withTls(new ServerConfig.Tls(cert, dir.resolve("tls").resolve(TlsSelfSigned.KEY_FILE))));
        addr = "127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void initTlsRefusesToReplaceAnExistingPair() {
        Run again = CliTest.run("serve", "--init-tls", dir.resolve("tls").toString());
        assertEquals(2, again.exit());
        assertTrue(again.err().contains("server-cert.pem: already exists"), again.err());
    }

    @Test
    void aModelFileIsUploadedOverTlsAndRunsAsTheBuiltIn() throws Exception {
        Path onnx = dir.resolve("minilm.onnx");
        Files.write(onnx, EncoderModel.onnxBytes(EncoderModel.Builtin.MINILM));
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "An uploaded model.\nOver TLS.\n");
        Run local = CliTest.run("embed", "--model", "minilm", "--text", text.toString(), "--json");
        Run remote = CliTest.run("submit", "--server", addr, "--tls-ca", cert.toString(), "run", "--model", onnx.toString(), "--tokenizer-of", "minilm",
                "--text", text.toString(), "--json");
        assertEquals(0, remote.exit(), remote.err());
        assertTrue(remote.err().contains("uploaded minilm.onnx: " + Files.size(onnx) + " bytes"), remote.err());
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree(local.out()).get("embeddings"), json.readTree(remote.out()).get("embeddings"));

        Run noTok = CliTest.run("submit", "--server", addr, "--tls-ca", cert.toString(), "run", "--model", onnx.toString(), "--text", text.toString());
        assertEquals(2, noTok.exit());
        assertTrue(noTok.err().contains("needs --tokenizer-of"), noTok.err());
    }

    @Test
    void plainTextAgainstTlsIsAOneLineErrorThatSuggestsTlsCa() {
        Run plain = CliTest.run("jobs", "--server", addr);
        assertEquals(2, plain.exit());
        assertTrue(plain.err().contains("cannot reach the job server (the connection closed: if it serves TLS, pass --tls-ca"), plain.err());
        assertEquals(1, plain.err().strip().lines().count(), plain.err());
        Run ok = CliTest.run("jobs", "--server", addr, "--tls-ca", cert.toString());
        assertEquals(0, ok.exit(), ok.err());
        Run missingCa = CliTest.run("jobs", "--server", addr, "--tls-ca", dir.resolve("nope.pem").toString());
        assertEquals(2, missingCa.exit());
        assertTrue(missingCa.err().contains("nope.pem: no such file"), missingCa.err());
    }
}
