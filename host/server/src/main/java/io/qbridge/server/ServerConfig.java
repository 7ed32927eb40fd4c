package io.qbridge.server;

import java.nio.file.Path;

/**
 * How a job server runs.
 *
 * @param host            the address to bind; loopback unless the operator says otherwise
 * @param port            0 picks a free port
 * @param dataDir         the artifacts and temporary files live here, and the embedded database unless {@code db} is given
 * @param tokenFile       {@code name:role:sha256hex} lines; null lets every caller in as the admin "local"
 * @param workers         jobs run at once on the host/emulator path (each board takes one more, of its own)
 * @param maxQueued       submits beyond this many waiting jobs get RESOURCE_EXHAUSTED
 * @param maxInboundBytes largest request message accepted (gRPC's maxInboundMessageSize; larger ones end with RESOURCE_EXHAUSTED)
 * @param db              null for the embedded H2 under {@code dataDir}; a PostgreSQL URL for fleet mode
 * @param hostId          this server's name as the owner of the jobs it claims; null for
 *                        {@link JobScheduler#defaultHostId the machine's name and port}
 * @param leaseMillis     how long a claimed job stays with this server without renewal (fleet mode: how long
 *                        after this server dies its jobs are taken over)
 * @param limits          per-client limits and uploads
 * @param tls             certificate and key to serve TLS with; null serves plain text
 */
public record ServerConfig(String host, int port, Path dataDir, Path tokenFile, int workers, int maxQueued, int maxInboundBytes, String db, String hostId,
                           long leaseMillis, Limits limits, Tls tls) {
    public static final int DEFAULT_MAX_INBOUND_BYTES = 16 << 20;

    /**
     * Limits a client cannot exceed; each refusal is RESOURCE_EXHAUSTED with a message naming the limit.
     *
     * @param maxUploadBytes        largest model file an UploadModel may deliver (default 1 GiB)
     * @param maxJobsPerClient      queued plus running jobs of one client (default 64); with no token file
     *                              every caller is the one client "local", which this limit then leaves alone
     * @param maxOpenUploadsPerClient unfinished uploads one client may hold on disk at once (default 4)
     */
    public record Limits(long maxUploadBytes, int maxJobsPerClient, int maxOpenUploadsPerClient) {
        public static final Limits DEFAULTS = new Limits(1L << 30, 64, 4);

        public Limits {
            if (maxUploadBytes < 1) throw new IllegalArgumentException("the upload limit must be at least 1 byte");
            if (maxJobsPerClient < 1) throw new IllegalArgumentException("jobs per client must be at least 1");
            if (maxOpenUploadsPerClient < 1) throw new IllegalArgumentException("open uploads per client must be at least 1");
        }
    }

    /** PEM files: the server's certificate chain and its PKCS#8 private key. */
    public record Tls(Path certChain, Path privateKey) {}

    public ServerConfig {
        if (workers < 1) throw new IllegalArgumentException("workers must be at least 1");
        if (maxQueued < 1) throw new IllegalArgumentException("the queue must hold at least one job");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be between 0 and 65535");
        if (maxInboundBytes < 1024) throw new IllegalArgumentException("the message size limit must be at least 1 KiB");
        if (hostId != null && (hostId.isBlank() || hostId.length() > 200)) throw new IllegalArgumentException("host id: 1 to 200 characters");
        if (leaseMillis < 3 * JobScheduler.DEFAULT_HEARTBEAT_MILLIS) {
            throw new IllegalArgumentException("lease: at least " + 3 * JobScheduler.DEFAULT_HEARTBEAT_MILLIS + " ms (three heartbeats)");
        }
        if (limits == null) limits = Limits.DEFAULTS;
    }

    /** The embedded database under {@code dataDir}, no host id of its own, the default lease and limits, plain text. */
    public ServerConfig(String host, int port, Path dataDir, Path tokenFile, int workers, int maxQueued, int maxInboundBytes) {
        this(host, port, dataDir, tokenFile, workers, maxQueued, maxInboundBytes, null, null, JobScheduler.DEFAULT_LEASE_MILLIS, Limits.DEFAULTS, null);
    }

    public static ServerConfig loopback(int port, Path dataDir, Path tokenFile) {
        return new ServerConfig("127.0.0.1", port, dataDir, tokenFile, Math.max(1, Runtime.getRuntime().availableProcessors() / 2), 256,
                DEFAULT_MAX_INBOUND_BYTES);
    }

    public ServerConfig withWorkers(int n) {
        return new ServerConfig(host, port, dataDir, tokenFile, n, maxQueued, maxInboundBytes, db, hostId, leaseMillis, limits, tls);
    }

    public ServerConfig withMaxQueued(int n) {
        return new ServerConfig(host, port, dataDir, tokenFile, workers, n, maxInboundBytes, db, hostId, leaseMillis, limits, tls);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, dataDir, tokenFile, workers, maxQueued, maxInboundBytes, db, hostId, leaseMillis, limits, tls);
    }

    public ServerConfig withMaxInboundBytes(int n) {
        return new ServerConfig(host, port, dataDir, tokenFile, workers, maxQueued, n, db, hostId, leaseMillis, limits, tls);
    }

    /** Fleet mode: the jobs live in the PostgreSQL database {@code url}, shared with other servers. */
    public ServerConfig withDb(String url, String id, long lease) {
        return new ServerConfig(host, port, dataDir, tokenFile, workers, maxQueued, maxInboundBytes, url, id, lease, limits, tls);
    }

    public ServerConfig withLimits(Limits l) {
        return new ServerConfig(host, port, dataDir, tokenFile, workers, maxQueued, maxInboundBytes, db, hostId, leaseMillis, l, tls);
    }

    public ServerConfig withTls(Tls t) {
        return new ServerConfig(host, port, dataDir, tokenFile, workers, maxQueued, maxInboundBytes, db, hostId, leaseMillis, limits, t);
    }

    /** The host id this server claims jobs as. */
    public String effectiveHostId() {
        return hostId != null ? hostId : JobScheduler.defaultHostId(port);
    }
}
