package io.qbridge.cli;

import io.qbridge.server.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qbridge serve}: the job server in the foreground until SIGTERM (or Ctrl-C), which stops it cleanly. */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run a job server for remote quantize and run jobs (gRPC, qbridge.v1).")
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "7443", paramLabel = "P", description = "TCP port (default 7443; 0 picks a free one).")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR", description = "Address to bind (default 127.0.0.1, loopback only).")
    String host;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Jobs database and artifacts; created if absent.")
    Path data;

    @Option(names = "--token-file", paramLabel = "F", description = "Accepted tokens, one name:role:sha256hex line each (role admin or client). Without it, no authentication.")
    Path tokenFile;

    @Option(names = "--workers", defaultValue = "0", paramLabel = "N",
            description = "Host and emulator jobs run at once (default: half the cores); each board runs one job at a time besides.")
    int workers;

    @Option(names = "--max-queued", defaultValue = "256", paramLabel = "N", description = "Waiting jobs beyond this are refused with RESOURCE_EXHAUSTED (default 256).")
    int maxQueued;

    @Option(names = "--tls-cert", paramLabel = "C", description = "Not supported yet.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "K", description = "Not supported yet.")
    Path tlsKey;

    @Option(names = "--db", paramLabel = "URL",
            description = "Fleet mode: keep the jobs in PostgreSQL, shared with other servers: postgresql://[user[:password]@]host[:port]/db or a jdbc:postgresql: URL"
                    + " (password also from PGPASSWORD). Default: an embedded database under --data.")
    String db;

    @Option(names = "--host-id", paramLabel = "ID",
            description = "This server's name as the owner of the jobs it claims; unique among servers sharing --db (default: the machine's name and port).")
    String hostId;

    @Option(names = "--lease", defaultValue = "30", paramLabel = "SECONDS",
            description = "Fleet mode: a claimed job stays with this server this long without renewal; after it dies, others take its jobs over then (default 30).")
    double leaseSeconds;

    @Override
    public Integer call() throws Exception {
        if (tlsCert != null || tlsKey != null) throw new Main.UserException("--tls-cert/--tls-key: TLS is not supported yet; bind to loopback and tunnel");
        if (db != null && !db.startsWith("postgresql://") && !db.startsWith("postgres://") && !db.startsWith("jdbc:postgresql:")) {
            throw new Main.UserException("--db: expected postgresql://[user[:password]@]host[:port]/database or a jdbc:postgresql: URL");
        }
        if (leaseSeconds < 1.5) throw new Main.UserException("--lease: at least 1.5 seconds (three heartbeats)");
        if (tokenFile != null && !Files.isRegularFile(tokenFile)) throw new Main.UserException(tokenFile + ": no such file");
        ServerConfig cfg = ServerConfig.loopback(port, data, tokenFile);
        cfg = new ServerConfig(host, port, data, tokenFile, workers > 0 ? workers : cfg.workers(), maxQueued, cfg.maxInboundBytes(), db, hostId,
                Math.round(leaseSeconds * 1000));
        JobServer server;
        try {
            server = JobServer.start(cfg);
        } catch (java.sql.SQLException e) { // the database is unreachable, refuses us, or is newer than this server
            throw new Main.UserException((db == null ? data + ": " : "--db: ") + e.getMessage());
        }
        Thread hook = new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                System.err.println("qbridge serve: unclean stop: " + e);
            }
        }, "qbridge-serve-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        server.awaitTermination();
        return 0;
    }
}
