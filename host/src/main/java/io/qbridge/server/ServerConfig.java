package io.qbridge.server;

import java.nio.file.Path;

/**
 * How a job server runs.
 *
 * @param host            the address to bind; loopback unless the operator says otherwise
 * @param port            0 picks a free port
 * @param dataDir         the database, the artifacts and temporary files live here
 * @param tokenFile       {@code name:role:sha256hex} lines; null lets every caller in as the admin "local"
 * @param workers         jobs run at once on the host/emulator path
 * @param maxQueued       submits beyond this many waiting jobs get RESOURCE_EXHAUSTED
 * @param maxInboundBytes largest request message accepted
 */
public record ServerConfig(String host, int port, Path dataDir, Path tokenFile, int workers, int maxQueued, int maxInboundBytes) {
    public static final int DEFAULT_MAX_INBOUND_BYTES = 16 << 20;

    public ServerConfig {
        if (workers < 1) throw new IllegalArgumentException("workers must be at least 1");
        if (maxQueued < 1) throw new IllegalArgumentException("the queue must hold at least one job");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be between 0 and 65535");
    }

    public static ServerConfig loopback(int port, Path dataDir, Path tokenFile) {
        return new ServerConfig("127.0.0.1", port, dataDir, tokenFile, Math.max(1, Runtime.getRuntime().availableProcessors() / 2), 256,
                DEFAULT_MAX_INBOUND_BYTES);
    }

    public ServerConfig withWorkers(int n) {
        return new ServerConfig(host, port, dataDir, tokenFile, n, maxQueued, maxInboundBytes);
    }

    public ServerConfig withMaxQueued(int n) {
        return new ServerConfig(host, port, dataDir, tokenFile, workers, n, maxInboundBytes);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, dataDir, tokenFile, workers, maxQueued, maxInboundBytes);
    }
}
