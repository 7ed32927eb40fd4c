package io.qbridge.cli;

import io.qbridge.server.*;

import java.nio.file.Files;
import java.util.List;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qbridge serve}: the job server in the foreground until SIGTERM (or Ctrl-C), which stops it cleanly. */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run a job server for remote quantize and run jobs (gRPC, qbridge.v1).")
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "7443", paramLabel = "P", description = "TCP port (default 7443; 0 picks a free one).")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "Address to bind (default 127.0.0.1, loopback only). Any other address needs --token-file and TLS, or --insecure.")
    String host;

    @Option(names = "--insecure", description = "Serve beyond loopback without a token file or without TLS anyway (warned at start and in every response's headers).")
    boolean insecure;

    @Option(names = "--data", paramLabel = "DIR", description = "Jobs database and artifacts; created if absent. Required, except with --init-tls.")
    Path data;

    @Option(names = "--token-file", paramLabel = "F", description = "Accepted tokens, one name:role:sha256hex line each (role admin or client). Without it, no authentication.")
    Path tokenFile;

    @Option(names = "--workers", defaultValue = "0", paramLabel = "N",
            description = "Host and emulator jobs run at once (default: half the cores); each board runs one job at a time besides.")
    int workers;

    @Option(names = "--max-queued", defaultValue = "256", paramLabel = "N", description = "Waiting jobs beyond this are refused with RESOURCE_EXHAUSTED (default 256).")
    int maxQueued;

    @Option(names = "--tls-cert", paramLabel = "C", description = "Serve TLS with this PEM certificate (chain); needs --tls-key.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "K", description = "The certificate's private key, PEM (PKCS#8).")
    Path tlsKey;

    @Option(names = "--init-tls", paramLabel = "DIR", description = "Write a self-signed certificate and key for localhost/127.0.0.1 into DIR, print how to use them, and exit.")
    Path initTls;

    @Option(names = "--max-message-bytes", defaultValue = "" + ServerConfig.DEFAULT_MAX_INBOUND_BYTES, paramLabel = "N",
            description = "Largest request message accepted (default 16 MiB); larger ones get RESOURCE_EXHAUSTED.")
    int maxMessageBytes;

    @Option(names = "--max-upload-bytes", defaultValue = "1073741824", paramLabel = "N", description = "Largest model upload (default 1 GiB).")
    long maxUploadBytes;

    @Option(names = "--max-jobs-per-client", defaultValue = "64", paramLabel = "N",
            description = "Queued plus running jobs one token may have (default 64; not applied without --token-file).")
    int maxJobsPerClient;

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

    @Option(names = "--board", defaultValue = "none", paramLabel = "none|xrt|auto",
            description = "Offer an XRT device as board-0 for jobs with device xrt: xrt (fail if it cannot be opened), auto (only when the XRT library, a device and a "
                    + "manifest bitstream are present; else none, with one log line), none (default).")
    String board;

    @Option(names = "--xrt-library", paramLabel = "PATH", description = "The XRT C library for --board (hls/build/libqbridge_swdevice.so is the software device).")
    String xrtLibrary;

    @Override
    public Integer call() throws Exception {
        if (initTls != null) return initTls();
        if (!List.of("none", "xrt", "auto").contains(board)) throw new Main.UserException("--board: expected none, xrt or auto, got '" + board + "'");
        if (data == null) throw new Main.UserException("serve: --data DIR is required");
        if ((tlsCert == null) != (tlsKey == null)) throw new Main.UserException("--tls-cert and --tls-key go together");
        if (db != null && !db.startsWith("postgresql://") && !db.startsWith("postgres://") && !db.startsWith("jdbc:postgresql:")) {
            throw new Main.UserException("--db: expected postgresql://[user[:password]@]host[:port]/database or a jdbc:postgresql: URL");
        }
        if (leaseSeconds < 1.5) throw new Main.UserException("--lease: at least 1.5 seconds (three heartbeats)");
        if (tokenFile != null && !Files.isRegularFile(tokenFile)) throw new Main.UserException(tokenFile + ": no such file");
        ServerConfig cfg = ServerConfig.loopback(port, data, tokenFile);
        try {
            cfg = new ServerConfig(host, port, data, tokenFile, workers > 0 ? workers : cfg.workers(), maxQueued, maxMessageBytes, db, hostId,
                    Math.round(leaseSeconds * 1000),
                    new ServerConfig.Limits(maxUploadBytes, maxJobsPerClient, ServerConfig.Limits.DEFAULTS.maxOpenUploadsPerClient()),
                    tlsCert == null ? null : new ServerConfig.Tls(tlsCert, tlsKey));
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(e.getMessage());
        }
        String refusal = Exposure.check(cfg, insecure);
        if (refusal != null) throw new Main.UserException("serve: " + refusal);
        io.qbridge.device.Accelerator boardDevice = null;
        if (!board.equals("none")) {
            try {
                io.qbridge.device.Accelerator a = io.qbridge.runtime.Devices.open(board, io.qbridge.emulator.EmulatorConfig.defaults(), line -> Log.info("%s", line), xrtLibrary);
                if (a.describe().kind() == io.qbridge.device.DeviceKind.XRT) boardDevice = a;
                else a.close();
            } catch (IllegalStateException e) {
                throw new Main.UserException("--board " + e.getMessage().replaceFirst("^--device ", ""));
            }
        }
        JobServer server;
        try {
            server = JobServer.start(cfg, boardDevice);
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

    private int initTls() throws java.io.IOException {
        TlsSelfSigned.Pair p;
        try {
            p = TlsSelfSigned.write(initTls);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new Main.UserException(e.getFile() + ": " + e.getReason());
        }
        System.out.println("wrote " + p.certificate() + " (self-signed, for localhost and 127.0.0.1, valid 365 days)");
        System.out.println("wrote " + p.privateKey() + " (private key, mode 0600)");
        System.out.println("serve:   qbridge serve --data DIR --tls-cert " + p.certificate() + " --tls-key " + p.privateKey());
        System.out.println("clients: qbridge submit --server localhost:7443 --tls-ca " + p.certificate() + " ...");
        return 0;
    }
}
