package io.qbridge.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.qbridge.protocol.v1.JobServiceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.sql.SQLException;
import java.util.List;
import java.util.stream.Collectors;
import io.qbridge.runtime.Devices;
import io.qbridge.emulator.EmulatorConfig;
import java.util.concurrent.TimeUnit;

/**
 * A running job server: the store, the scheduler and the gRPC server (Netty) with the job service, the
 * standard health service and server reflection. {@link #close()} is the clean stop SIGTERM triggers.
 */
public final class JobServer implements AutoCloseable {
    private final ServerConfig config;
    private final JobStore store;
    private final JobScheduler scheduler;
    private final Server grpc;
    private final HealthStatusManager health;
    private final List<String> recovered;
    private boolean closed;

    private JobServer(ServerConfig config, JobStore store, JobScheduler scheduler, Server grpc, HealthStatusManager health, List<String> recovered) {
        this.config = config;
        this.health = health;
        this.store = store;
        this.scheduler = scheduler;
        this.grpc = grpc;
        this.recovered = recovered;
    }

    /** Opens (or creates) the data directory and the job store, recovers interrupted jobs, starts the workers and listens. */
    public static JobServer start(ServerConfig config) throws IOException, SQLException {
        ComputeDevice host = new ComputeDevice.Host(config.workers());
        return start(config, new HostJobExecutor(host), List.of(host, serverEmulator(config.workers())));
    }

    /**
     * As {@link #start(ServerConfig)} with a board ({@code board-0}) when {@code board} is not null: an XRT device
     * (a card or the software device) that runs "xrt" jobs one at a time.
     */
    public static JobServer start(ServerConfig config, io.qbridge.device.Accelerator board) throws IOException, SQLException {
        ComputeDevice host = new ComputeDevice.Host(config.workers());
        List<ComputeDevice> devices = new java.util.ArrayList<>(List.of(host, serverEmulator(config.workers())));
        if (board != null) devices.add(new ComputeDevice.Board("board-0", board));
        return start(config, new HostJobExecutor(host), devices);
    }

    /** The emulator a server offers beside the host path: the default performance model and formats. */
    static ComputeDevice.Emulator serverEmulator(int workers) {
        return new ComputeDevice.Emulator(Devices.open("emulator", EmulatorConfig.defaults(), line -> {}), workers);
    }

    /** As {@link #start(ServerConfig)} with the given executor (a device or a fault injector in tests): its host path and the emulator. */
    public static JobServer start(ServerConfig config, HostJobExecutor executor) throws IOException, SQLException {
        return start(config, executor, List.of(executor.device(), serverEmulator(config.workers())));
    }

    static JobServer start(ServerConfig config, JobExecutor executor, ComputeDevice device) throws IOException, SQLException {
        return start(config, executor, List.of(device));
    }

    /** @param devices what this server runs jobs on; the host path must be among them */
    static JobServer start(ServerConfig config, JobExecutor executor, List<ComputeDevice> devices) throws IOException, SQLException {
        TokenFile tokens = config.tokenFile() == null ? null : TokenFile.read(config.tokenFile());
        requireFreeAddress(config.host(), config.port()); // before the store: a refused start creates nothing under --data
        JobStore store = JobStore.open(config.db(), config.dataDir());
        try {
            ArtifactStore artifacts = new ArtifactStore(config.dataDir());
            JobEvents events = new JobEvents();
            JobScheduler.Settings settings = JobScheduler.Settings.of(config.effectiveHostId(), config.workers(), config.maxQueued())
                    .withLease(config.leaseMillis(), JobScheduler.DEFAULT_HEARTBEAT_MILLIS);
            JobScheduler scheduler = new JobScheduler(store, artifacts, events, executor, devices, settings);
            BearerAuthInterceptor auth = new BearerAuthInterceptor(tokens);
            HealthStatusManager health = new HealthStatusManager();
            UploadStore uploads = new UploadStore(config.dataDir(), artifacts, config.limits(), store.sharedArtifacts().orElse(null));
            NettyServerBuilder nb = NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.port()));
            // exposed beyond loopback without tokens or TLS ('serve --insecure'): every response says so, health included
            boolean exposed = !Exposure.missing(config).isEmpty();
            if (exposed) nb.intercept(Exposure.header(Exposure.warning(config)));
            if (config.tls() != null) nb.sslContext(TlsContexts.server(config.tls()));
            Server grpc = nb
                    .maxInboundMessageSize(config.maxInboundBytes())
                    .addService(ServerInterceptors.intercept(new JobServiceImpl(store, scheduler, events, artifacts, devices, uploads, config.limits()), auth))
                    // reflection describes the API: it needs a token like the API itself
                    .addService(ServerInterceptors.intercept(ProtoReflectionServiceV1.newInstance(), auth))
                    // health stays open: probes and load balancers carry no token
                    .addService(health.getHealthService())
                    .build();
            if (exposed) ServerLog.info("qbridge serve: WARNING %s", Exposure.warning(config));
            List<String> recovered = scheduler.start();
            for (String id : recovered) ServerLog.info("job %s RUNNING->INTERRUPTED at start (the previous server stopped while it ran)", id);
            grpc.start();
            health.setStatus(JobServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
            ServerLog.info("qbridge serve: listening on %s:%d (%s), data %s, jobs in %s%s, devices %s, %d workers, queue %d, auth %s", config.host(), grpc.getPort(),
                    config.tls() == null ? "plain text" : "TLS", config.dataDir(), store.describe(),
                    store.shared() ? " as host " + settings.hostId() + " (lease " + settings.leaseMillis() + " ms)" : "",
                    devices.stream().map(d -> d.id() + "x" + d.parallelism()).collect(Collectors.joining(",")), config.workers(), config.maxQueued(),
                    tokens == null ? "off (no --token-file)" : "bearer tokens");
            return new JobServer(config, store, scheduler, grpc, health, recovered);
        } catch (IOException | SQLException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /**
     * Throws a one-line {@link java.net.BindException} naming the address if something already listens there.
     * (The gRPC bind comes later, after the store is open; this probe makes the common case, a second server on
     * the same port, fail before anything is created.)
     */
    static void requireFreeAddress(String host, int port) throws IOException {
        if (port == 0) return;
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true); // as Netty binds: a socket in TIME_WAIT does not count as in use
            probe.bind(new InetSocketAddress(host, port));
        } catch (java.net.BindException e) {
            boolean inUse = e.getMessage() != null && e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("in use");
            throw new java.net.BindException(host + ":" + port + ": " + (inUse ? "already in use (another server listens there; choose another --port)"
                    : "cannot bind: " + e.getMessage()));
        }
    }

    public int port() {
        return grpc.getPort();
    }

    public ServerConfig config() {
        return config;
    }

    /** Jobs found RUNNING at start, left by a server that stopped without finishing them. */
    public List<String> recoveredAtStart() {
        return recovered;
    }

    public JobStore store() {
        return store;
    }

    public void awaitTermination() throws InterruptedException {
        grpc.awaitTermination();
    }

    /** Stops accepting calls, stops running jobs at their next checkpoint (re-queued for the next start) and closes the store. */
    @Override
    public synchronized void close() throws SQLException {
        if (closed) return;
        closed = true;
        health.enterTerminalState();
        grpc.shutdown();
        scheduler.close();
        grpc.shutdownNow(); // watches still open end now
        awaitGrpc();
        store.close();
        for (ComputeDevice d : scheduler.devices()) if (d instanceof ComputeDevice.OnAccelerator a) a.accelerator().close();
        ServerLog.info("qbridge serve: stopped");
    }

    /** Stops as a crash would (tests): the store is dropped first, so nothing more reaches the disk. */
    synchronized void crash() throws SQLException {
        if (closed) return;
        closed = true;
        store.crash();
        grpc.shutdownNow();
        scheduler.crash();
        awaitGrpc();
    }

    private void awaitGrpc() {
        try {
            grpc.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
