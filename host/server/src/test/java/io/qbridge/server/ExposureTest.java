package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.qbridge.protocol.v1.JobServiceGrpc;
import io.qbridge.protocol.v1.ListDevicesRequest;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A server bound beyond loopback without tokens or TLS says so in every response; a loopback one does not. */
class ExposureTest {
    @TempDir Path data;

    @Test
    void whatANonLoopbackAddressLacks() {
        ServerConfig loop = ServerConfig.loopback(0, data, null);
        assertTrue(Exposure.missing(loop).isEmpty());
        assertNull(Exposure.refusal(loop));
        ServerConfig any = new ServerConfig("0.0.0.0", 0, data, null, 1, 8, ServerConfig.DEFAULT_MAX_INBOUND_BYTES);
        assertEquals(java.util.List.of("a token file (--token-file)", "TLS (--tls-cert and --tls-key)"), Exposure.missing(any));
        assertNull(Exposure.check(any, true), "--insecure lets it start");
    }

    @Test
    void healthAndListDevicesCarryTheWarning() throws Exception {
        ServerConfig any = new ServerConfig("0.0.0.0", 0, data.resolve("d"), null, 1, 8, ServerConfig.DEFAULT_MAX_INBOUND_BYTES);
        assertHeader(any, "insecure: listening on 0.0.0.0 without a token file (--token-file) and without TLS (--tls-cert and --tls-key) (started with --insecure)");
        assertHeader(ServerConfig.loopback(0, data.resolve("l"), null), null);
    }

    private static void assertHeader(ServerConfig config, String expected) throws Exception {
        JobServer server = JobServer.start(config, new TestServers.Instant(), TestServers.HOST);
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        try {
            AtomicReference<Metadata> headers = new AtomicReference<>(), trailers = new AtomicReference<>();
            HealthGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
                    .check(HealthCheckRequest.newBuilder().setService(JobServiceGrpc.SERVICE_NAME).build());
            assertEquals(expected, headers.get().get(Exposure.HEADER), "health");
            headers.set(null);
            JobServiceGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
                    .listDevices(ListDevicesRequest.getDefaultInstance());
            assertEquals(expected, headers.get().get(Exposure.HEADER), "ListDevices");
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.close();
        }
    }
}
