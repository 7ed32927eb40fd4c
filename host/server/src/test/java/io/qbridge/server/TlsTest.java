package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobState;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS on a real loopback socket, with a pair made by the --init-tls code. */
class TlsTest {
    @TempDir Path dir;
    JobServer server;
    TlsSelfSigned.Pair pair;
    String addr;

    @BeforeEach
    void start() throws Exception {
        pair = TlsSelfSigned.write(dir.resolve("tls"));
        server = JobServer.start(ServerConfig.loopback(0, dir.resolve("data"), null).withWorkers(1).withTls(new ServerConfig.Tls(pair.certificate(), pair.privateKey())),
                new TestServers.Instant(), TestServers.HOST);
        addr = "127.0.0.1:" + server.port();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    @Test
    void initTlsWritesAPrivateKeyOnlyTheOwnerReadsAndACertificateForLocalhost() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pair.privateKey())));
        X509Certificate cert;
        try (InputStream in = Files.newInputStream(pair.certificate())) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        cert.checkValidity();
        cert.verify(cert.getPublicKey()); // self-signed
        Set<String> sans = cert.getSubjectAlternativeNames().stream().map(l -> l.get(1).toString()).collect(Collectors.toSet());
        assertEquals(Set.of("localhost", "127.0.0.1"), sans);
        assertTrue(Files.readString(pair.privateKey()).startsWith("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM, as Netty reads it");
        try (var left = Files.list(pair.certificate().getParent())) {
            assertEquals(2, left.count(), "no temporary file is left beside the pair");
        }
        assertThrows(FileAlreadyExistsException.class, () -> TlsSelfSigned.write(pair.certificate().getParent()), "an existing pair is never replaced");
    }

    @Test
    void aTlsClientTrustingTheCertificateSubmitsAndReadsItsJob() throws Exception {
        try (QbridgeClient c = QbridgeClient.builder(addr).tlsCa(pair.certificate()).build()) {
            Job j = c.submit(QbridgeClient.runSpec("minilm", List.of("hello over TLS")), 0);
            Job done = TestServers.awaitState(c, j.getId(), JobState.JOB_STATE_SUCCEEDED, 10_000);
            assertEquals(j.getId(), done.getId());
            assertEquals(1, QbridgeClient.embeddings(done).length);
        }
        // localhost is in the certificate too
        try (QbridgeClient c = QbridgeClient.builder("localhost:" + server.port()).tlsCa(pair.certificate()).build()) {
            assertEquals(1, c.devices().size());
        }
    }

    @Test
    void aPlainTextClientIsRefusedAndTheServerKeepsServingTlsClients() throws Exception {
        try (QbridgeClient plain = QbridgeClient.connect(addr, null); QbridgeClient tls = QbridgeClient.builder(addr).tlsCa(pair.certificate()).build()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> plain.submit(QbridgeClient.runSpec("minilm", List.of("x")), 0));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
            assertEquals(0, tls.list(Set.of(), 0, null).getJobsCount(), "the plain-text attempt created no job");
            Job j = tls.submit(QbridgeClient.runSpec("minilm", List.of("still here")), 0);
            TestServers.awaitState(tls, j.getId(), JobState.JOB_STATE_SUCCEEDED, 10_000);
            assertEquals(Status.Code.UNAVAILABLE, assertThrows(StatusRuntimeException.class, plain::devices).getStatus().getCode());
        }
    }

    @Test
    void aClientTrustingAnotherCaIsRefused() throws Exception {
        TlsSelfSigned.Pair other = TlsSelfSigned.write(dir.resolve("other"));
        try (QbridgeClient c = QbridgeClient.builder(addr).tlsCa(other.certificate()).build();
                QbridgeClient good = QbridgeClient.builder(addr).tlsCa(pair.certificate()).build()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, c::devices);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            assertTrue(String.valueOf(e.getCause()).contains("SSL") || String.valueOf(e.getStatus().getDescription()).contains("ssl")
                    || e.toString().toLowerCase().contains("certif"), "the failure is the TLS handshake: " + e + " / " + e.getCause());
            assertEquals(1, good.devices().size());
        }
    }
}
