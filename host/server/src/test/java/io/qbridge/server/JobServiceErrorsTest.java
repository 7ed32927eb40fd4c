package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobServiceGrpc;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Status codes a client sees for bad input, missing rights, a full queue and cancellation, on a real socket. */
class JobServiceErrorsTest {
    @TempDir Path data;

    static Status.Code code(Executable call) {
        return assertThrows(StatusRuntimeException.class, call).getStatus().getCode();
    }

    static StatusRuntimeException failure(Executable call) {
        return assertThrows(StatusRuntimeException.class, call);
    }

    @Test
    void tokensAuthenticateAndClientsSeeOnlyTheirOwnJobs() throws Exception {
        Path tokens = data.resolve("tokens");
        Files.writeString(tokens, "# test tokens\n" + TokenFile.line("alice", Caller.Role.CLIENT, "alice-secret") + "\n"
                + TokenFile.line("bob", Caller.Role.CLIENT, "bob-secret") + "\n" + TokenFile.line("root", Caller.Role.ADMIN, "root-secret") + "\n");
        JobServer server = JobServer.start(ServerConfig.loopback(0, data.resolve("d"), tokens).withWorkers(1), new TestServers.Instant(), TestServers.HOST);
        String addr = "127.0.0.1:" + server.port();
        JobSpec spec = QbridgeClient.runSpec("minilm", List.of("hi"));
        try (QbridgeClient anonymous = QbridgeClient.connect(addr, null); QbridgeClient wrong = QbridgeClient.connect(addr, "guess");
                QbridgeClient alice = QbridgeClient.connect(addr, "alice-secret"); QbridgeClient bob = QbridgeClient.connect(addr, "bob-secret");
                QbridgeClient root = QbridgeClient.connect(addr, "root-secret")) {
            assertEquals(Status.Code.UNAUTHENTICATED, code(() -> anonymous.submit(spec, 0)));
            assertEquals(Status.Code.UNAUTHENTICATED, code(() -> wrong.submit(spec, 0)));
            assertEquals(Status.Code.UNAUTHENTICATED, code(() -> wrong.devices()));

            Job a = alice.submit(spec, 0);
            assertEquals("alice", a.getClient());
            TestServers.awaitState(alice, a.getId(), JobState.JOB_STATE_SUCCEEDED, 5000);
            assertEquals(Status.Code.NOT_FOUND, code(() -> bob.get(a.getId())), "another client's job does not exist for bob");
            assertEquals(Status.Code.NOT_FOUND, code(() -> bob.cancel(a.getId())));
            assertEquals(Status.Code.NOT_FOUND, code(() -> bob.await(a.getId(), null)));
            assertTrue(bob.list(Set.of(), 0, null).getJobsList().isEmpty());
            assertEquals(a.getId(), root.get(a.getId()).getId(), "an admin sees every job");
            assertEquals(1, root.list(Set.of(), 0, null).getJobsCount());

            // health needs no token: probes carry none
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
            try {
                HealthCheckResponse h = HealthGrpc.newBlockingStub(ch).check(HealthCheckRequest.newBuilder().setService(JobServiceGrpc.SERVICE_NAME).build());
                assertEquals(HealthCheckResponse.ServingStatus.SERVING, h.getStatus());
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } finally {
            server.close();
        }
    }

    @Test
    void badSpecsAreInvalidArgumentWithAMessageNamingTheField() throws Exception {
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1), new TestServers.Instant(), TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
            StatusRuntimeException e = failure(() -> c.submit(QbridgeClient.quantizeSpec("minilm", "int5-wat", 0), 0));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().startsWith("quantize.format: "), e.getStatus().getDescription());
            assertTrue(e.getStatus().getDescription().contains("int5-wat"), e.getStatus().getDescription());

            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submit(QbridgeClient.quantizeSpec("gpt-17", "mxint8", 0), 0)));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submit(QbridgeClient.quantizeSpec("minilm", "fp32", 0), 0)));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submit(QbridgeClient.runSpec("minilm", List.of()), 0)));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submit(JobSpec.getDefaultInstance(), 0)));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submit(QbridgeClient.runSpec("minilm", List.of("x")), 10)));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submit(QbridgeClient.runSpec(
                    io.qbridge.protocol.v1.ModelRef.newBuilder().setArtifactSha256("../../etc/passwd").build(), "", List.of("x")), 0)));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submit(QbridgeClient.runSpec(
                    io.qbridge.protocol.v1.ModelRef.newBuilder().setBuiltin("minilm").build(), "gptq-w4g12x", List.of("x")), 0))); // an unknown recipe (a GPTQ one is taken: RemoteCliTest)
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submit(JobSpec.newBuilder().setBench(io.qbridge.protocol.v1.BenchSpec.getDefaultInstance()).build(), 0))); // no model
            assertEquals(Status.Code.NOT_FOUND, code(() -> c.get("j-nope")));
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.list(Set.of(), 0, "not-a-token")));
            assertEquals(0, c.list(Set.of(), 0, null).getJobsCount(), "nothing rejected was stored");
        } finally {
            server.close();
        }
    }

    @Test
    void aFullQueueIsResourceExhaustedAndCancelStopsQueuedAndRunningJobs() throws Exception {
        TestServers.Gate gate = new TestServers.Gate();
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1).withMaxQueued(2), gate, TestServers.HOST);
        JobSpec spec = QbridgeClient.runSpec("minilm", List.of("x"));
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
            Job running = c.submit(spec, 0);
            assertTrue(gate.started.await(10, TimeUnit.SECONDS));
            TestServers.awaitState(c, running.getId(), JobState.JOB_STATE_RUNNING, 5000);
            Job q1 = c.submit(spec, 0), q2 = c.submit(spec, 0);
            StatusRuntimeException full = failure(() -> c.submit(spec, 0));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.getStatus().getCode());

            assertEquals(JobState.JOB_STATE_CANCELLED, c.cancel(q1.getId()).getState(), "a queued job is cancelled at once");
            assertEquals(JobState.JOB_STATE_QUEUED, c.submit(spec, 0).getState(), "which frees its place");

            // The gate stays closed, so the job can only end by cancellation: reaching CANCELLED proves a running job is
            // stopped (the bound is generous so that a loaded machine does not fail it; it is not a latency test).
            c.cancel(running.getId());
            TestServers.awaitState(c, running.getId(), JobState.JOB_STATE_CANCELLED, 10_000);
            assertEquals(1, gate.open.getCount(), "the job ended while its gate was still closed");
            assertEquals(JobState.JOB_STATE_CANCELLED, c.cancel(running.getId()).getState(), "cancel is idempotent");

            gate.open.countDown();
            TestServers.awaitState(c, q2.getId(), JobState.JOB_STATE_SUCCEEDED, 5000);
            assertEquals(2, c.list(Set.of(JobState.JOB_STATE_CANCELLED), 0, null).getJobsCount());
        } finally {
            gate.open.countDown();
            server.close();
        }
    }

    @Test
    void aJobWhoseWorkThrowsFailsWithItsMessageAndTheWorkerCarriesOn() throws Exception {
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        JobExecutor flaky = (job, ctx) -> {
            if (calls.incrementAndGet() == 1) throw new IllegalStateException("device fell off the bus");
            return new TestServers.Instant().execute(job, ctx);
        };
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1), flaky, TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
            List<io.qbridge.protocol.v1.JobEvent> events = new java.util.ArrayList<>();
            Job failed = c.await(c.submit(QbridgeClient.runSpec("minilm", List.of("x")), 0).getId(), events::add);
            assertEquals(JobState.JOB_STATE_FAILED, failed.getState());
            assertEquals("device fell off the bus", failed.getError());
            // the watch ended (await returned); the job's history records the error before the final state
            List<io.qbridge.protocol.v1.JobEvent> history = server.store().events(failed.getId());
            assertEquals("device fell off the bus", history.get(history.size() - 2).getError());
            assertEquals(JobState.JOB_STATE_FAILED, history.getLast().getState());
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
            try {
                var chunks = JobServiceGrpc.newBlockingStub(ch).downloadArtifact(io.qbridge.protocol.v1.DownloadArtifactRequest.newBuilder().setJobId(failed.getId()).build());
                assertEquals(Status.Code.NOT_FOUND, code(chunks::hasNext), "a failed job has no artifact");
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            Job next = c.await(c.submit(QbridgeClient.runSpec("minilm", List.of("y")), 0).getId(), null);
            assertEquals(JobState.JOB_STATE_SUCCEEDED, next.getState(), "the same worker runs the next job");
        } finally {
            server.close();
        }
    }

    @Test
    void aJobPastItsRunTimeoutFailsWithDeadlineExceeded() throws Exception {
        TestServers.Gate gate = new TestServers.Gate(); // never opened: the job would run forever
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1), gate, TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
            Job j = c.submitWithTimeout(QbridgeClient.runSpec("minilm", List.of("x")), 0, 300);
            assertEquals(300, j.getRunTimeoutMillis());
            Job done = TestServers.awaitState(c, j.getId(), JobState.JOB_STATE_FAILED, 2000);
            assertEquals("deadline exceeded: ran longer than 300 ms", done.getError());
            assertTrue(done.getFinishedMillis() - done.getStartedMillis() >= 300);
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> c.submitWithTimeout(QbridgeClient.runSpec("minilm", List.of("x")), 0, -1)));
        } finally {
            server.close();
        }
    }

    @Test
    void aRetriedSubmitWithTheSameRequestIdReturnsTheFirstJob() throws Exception {
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1), new TestServers.Instant(), TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
            JobSpec spec = QbridgeClient.runSpec("minilm", List.of("x"));
            Job first = c.submit(spec, 0, "retry-1");
            assertEquals(first.getId(), c.submit(spec, 0, "retry-1").getId());
            assertTrue(!first.getId().equals(c.submit(spec, 0, "retry-2").getId()));
            assertEquals(2, c.list(Set.of(), 0, null).getJobsCount());
        } finally {
            server.close();
        }
    }

    @Test
    void listPagesNewestFirstWithoutGapsOrRepeats() throws Exception {
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1), new TestServers.Instant(), TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
            List<String> ids = new java.util.ArrayList<>();
            for (int i = 0; i < 7; i++) ids.add(c.submit(QbridgeClient.runSpec("minilm", List.of("s" + i)), 0).getId());
            List<String> seen = new java.util.ArrayList<>();
            String token = "";
            int pages = 0;
            do {
                var page = c.list(Set.of(), 3, token);
                page.getJobsList().forEach(j -> seen.add(j.getId()));
                token = page.getNextPageToken();
                pages++;
            } while (!token.isEmpty());
            assertEquals(3, pages);
            assertEquals(ids.reversed(), seen);
        } finally {
            server.close();
        }
    }
}
