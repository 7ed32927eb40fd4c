package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each server limit: its status code and message, and that the server keeps serving everyone else. */
class LimitsTest {
    @TempDir Path data;

    Path tokens() throws Exception {
        Path t = data.resolve("tokens");
        Files.writeString(t, TokenFile.line("alice", Caller.Role.CLIENT, "a") + "\n" + TokenFile.line("bob", Caller.Role.CLIENT, "b") + "\n");
        return t;
    }

    @Test
    void aClientPastItsJobLimitIsResourceExhaustedWhileOthersSubmit() throws Exception {
        TestServers.Gate gate = new TestServers.Gate();
        ServerConfig cfg = ServerConfig.loopback(0, data.resolve("d"), tokens()).withWorkers(1).withLimits(new ServerConfig.Limits(1 << 20, 2, 4));
        JobServer server = JobServer.start(cfg, gate, TestServers.HOST);
        String addr = "127.0.0.1:" + server.port();
        JobSpec spec = QbridgeClient.runSpec("minilm", List.of("x"));
        try (QbridgeClient alice = QbridgeClient.connect(addr, "a"); QbridgeClient bob = QbridgeClient.connect(addr, "b")) {
            Job running = alice.submit(spec, 0);
            gate.started.await();
            Job queued = alice.submit(spec, 0, "req-1");
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> alice.submit(spec, 0));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
            assertEquals("client alice already has 2 queued or running jobs (the server's limit per client is 2); wait for some to finish", e.getStatus().getDescription());
            assertEquals(queued.getId(), alice.submit(spec, 0, "req-1").getId(), "a repeated submit returns its job, never refused");
            Job b = bob.submit(spec, 0); // another client is not affected
            assertEquals(3, server.store().list(null, Set.of(), 0, 10).size());
            gate.open.countDown();
            for (String id : List.of(running.getId(), queued.getId())) TestServers.awaitState(alice, id, JobState.JOB_STATE_SUCCEEDED, 10_000);
            TestServers.awaitState(bob, b.getId(), JobState.JOB_STATE_SUCCEEDED, 10_000);
            alice.submit(spec, 0); // finished jobs no longer count
        } finally {
            gate.open.countDown();
            server.close();
        }
    }

    @Test
    void anOversizedMessageIsResourceExhaustedAndTheConnectionKeepsWorking() throws Exception {
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1).withMaxInboundBytes(64 * 1024), new TestServers.Instant(), TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null); QbridgeClient other = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> c.submit(QbridgeClient.runSpec("minilm", Collections.nCopies(100, "x".repeat(1000))), 0));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("65536"), "the message names the limit: " + e.getStatus().getDescription());
            Job j = c.submit(QbridgeClient.runSpec("minilm", List.of("small")), 0); // the same connection goes on
            TestServers.awaitState(other, j.getId(), JobState.JOB_STATE_SUCCEEDED, 10_000);
        } finally {
            server.close();
        }
    }

    @Test
    void aFullQueueIsResourceExhaustedAndItsMessageNamesTheBound() throws Exception {
        TestServers.Gate gate = new TestServers.Gate();
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, tokens()).withWorkers(1).withMaxQueued(1), gate, TestServers.HOST);
        JobSpec spec = QbridgeClient.runSpec("minilm", List.of("x"));
        try (QbridgeClient alice = QbridgeClient.connect("127.0.0.1:" + server.port(), "a"); QbridgeClient bob = QbridgeClient.connect("127.0.0.1:" + server.port(), "b")) {
            alice.submit(spec, 0);
            gate.started.await();
            alice.submit(spec, 0);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> bob.submit(spec, 0));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
            assertEquals("the queue is full (1 jobs waiting); retry later", e.getStatus().getDescription());
            assertEquals(1, bob.devices().size(), "the server keeps answering");
        } finally {
            gate.open.countDown();
            server.close();
        }
    }

    @Test
    void limitsMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> new ServerConfig.Limits(0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new ServerConfig.Limits(1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.loopback(0, data, null).withMaxInboundBytes(10));
    }
}
