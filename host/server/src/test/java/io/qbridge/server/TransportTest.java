package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobServiceGrpc;
import io.qbridge.protocol.v1.JobState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Properties of the transport and of many clients at once, with jobs that finish instantly. */
class TransportTest {
    @TempDir Path data;

    @Test
    void aMessageAboveTheInboundLimitIsRefusedBeforeItIsParsed() throws Exception {
        ServerConfig cfg = new ServerConfig("127.0.0.1", 0, data, null, 1, 16, 64 * 1024);
        JobServer server = JobServer.start(cfg, new TestServers.Instant(), TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
            List<String> big = Collections.nCopies(100, "x".repeat(1000));
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> c.submit(QbridgeClient.runSpec("minilm", big), 0));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
            assertEquals(0, c.list(Set.of(), 0, null).getJobsCount());
        } finally {
            server.close();
        }
    }

    @Test
    void reflectionListsTheJobService() throws Exception {
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(1), new TestServers.Instant(), TestServers.HOST);
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        try {
            CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
            StreamObserver<ServerReflectionRequest> req = ServerReflectionGrpc.newStub(ch).serverReflectionInfo(new StreamObserver<>() {
                public void onNext(ServerReflectionResponse r) { answer.complete(r); }
                public void onError(Throwable t) { answer.completeExceptionally(t); }
                public void onCompleted() {}
            });
            req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
            List<String> names = answer.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream().map(s -> s.getName()).toList();
            req.onCompleted();
            assertTrue(names.contains(JobServiceGrpc.SERVICE_NAME), names.toString());
            assertTrue(names.contains("grpc.health.v1.Health"), names.toString());
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.close();
        }
    }

    @Test
    void manyClientsSubmittingAtOnceLoseAndDuplicateNothing() throws Exception {
        int clients = 16, jobsEach = 10;
        TestServers.Instant instant = new TestServers.Instant();
        JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(2).withMaxQueued(clients * jobsEach), instant, TestServers.HOST);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<List<String>>> futures = new ArrayList<>();
            for (int t = 0; t < clients; t++) {
                int client = t;
                futures.add(pool.submit(() -> {
                    List<String> ids = new ArrayList<>();
                    try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
                        for (int i = 0; i < jobsEach; i++) ids.add(c.submit(QbridgeClient.runSpec("minilm", List.of(client + "/" + i)), i % 3).getId());
                        for (String id : ids) {
                            Job j = c.await(id, null);
                            if (j.getState() != JobState.JOB_STATE_SUCCEEDED) throw new AssertionError(id + " " + j.getState());
                        }
                    }
                    return ids;
                }));
            }
            Set<String> all = new HashSet<>();
            for (Future<List<String>> f : futures) all.addAll(f.get(60, TimeUnit.SECONDS));
            assertEquals(clients * jobsEach, all.size(), "every submit got its own job");
            assertEquals(clients * jobsEach, instant.executed.get(), "and each ran exactly once");
            assertEquals(clients * jobsEach, server.store().countInState(JobState.JOB_STATE_SUCCEEDED));
        } finally {
            pool.shutdownNow();
            server.close();
        }
    }
}
