package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobState;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every refused call leaves one log line with the client's address and the reason, never the token. */
class RefusedCallLogTest {
    @TempDir Path data;

    @Test
    void refusalsAreLoggedWithAddressAndReasonButNoToken() throws Exception {
        Path tokens = data.resolve("tokens");
        Files.writeString(tokens, TokenFile.line("alice", Caller.Role.CLIENT, "alice-secret") + "\n" + TokenFile.line("bob", Caller.Role.CLIENT, "bob-secret") + "\n");
        PrintStream old = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        JobServer server = JobServer.start(ServerConfig.loopback(0, data.resolve("d"), tokens).withWorkers(1), new TestServers.Instant(), TestServers.HOST);
        String addr = "127.0.0.1:" + server.port();
        String jobId;
        try (QbridgeClient anonymous = QbridgeClient.connect(addr, null); QbridgeClient wrong = QbridgeClient.connect(addr, "guessed-token-xyz");
                QbridgeClient alice = QbridgeClient.connect(addr, "alice-secret"); QbridgeClient bob = QbridgeClient.connect(addr, "bob-secret")) {
            Job a = alice.submit(QbridgeClient.runSpec("minilm", List.of("hi")), 0);
            TestServers.awaitState(alice, a.getId(), JobState.JOB_STATE_SUCCEEDED, 5000);
            jobId = a.getId();
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            assertThrows(StatusRuntimeException.class, () -> anonymous.devices());
            assertThrows(StatusRuntimeException.class, () -> wrong.devices());
            assertThrows(StatusRuntimeException.class, () -> bob.get(a.getId()));
        } finally {
            System.setErr(old);
            server.close();
        }
        List<String> refused = log.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("refused")).toList();
        assertEquals(3, refused.size(), refused.toString());
        assertTrue(refused.get(0).contains("from 127.0.0.1:") && refused.get(0).contains("missing 'authorization: Bearer <token>' header"), refused.get(0));
        assertTrue(refused.get(1).contains("from 127.0.0.1:") && refused.get(1).contains("unknown token"), refused.get(1));
        assertTrue(refused.get(2).contains("from 127.0.0.1:") && refused.get(2).contains("(client bob)")
                && refused.get(2).contains("job " + jobId + " belongs to another client"), refused.get(2));
        String all = log.toString(StandardCharsets.UTF_8);
        assertFalse(all.contains("guessed-token-xyz") || all.contains("bob-secret") || all.contains("alice-secret"), all);
    }
}
