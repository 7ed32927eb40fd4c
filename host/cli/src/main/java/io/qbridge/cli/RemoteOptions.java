package io.qbridge.cli;

import io.qbridge.client.*;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;

/** Where the job server is and how to prove who we are; shared by every client command. */
final class RemoteOptions {
    @Option(names = "--server", required = true, paramLabel = "HOST:PORT", description = "The job server (qbridge serve).")
    String server;

    @Option(names = "--token-file", paramLabel = "FILE", description = "A file whose first line is your bearer token.")
    Path tokenFile;

    @Option(names = "--tls-ca", paramLabel = "CA", description = "Speak TLS, trusting the CA certificate(s) in this PEM file (for a server made with 'serve --init-tls': its server-cert.pem). Without it: plain text.")
    Path tlsCa;

    QbridgeClient connect() throws IOException {
        if (tlsCa != null && !Files.isRegularFile(tlsCa)) throw new Main.UserException("--tls-ca " + tlsCa + ": no such file");
        String token = null;
        if (tokenFile != null) {
            try {
                token = Files.readAllLines(tokenFile, StandardCharsets.UTF_8).stream().map(String::strip).filter(s -> !s.isEmpty()).findFirst()
                        .orElseThrow(() -> new Main.UserException(tokenFile + ": empty token file"));
            } catch (NoSuchFileException e) {
                throw new Main.UserException(tokenFile + ": no such file");
            }
        }
        try {
            return QbridgeClient.builder(server).token(token).tlsCa(tlsCa).build();
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(e.getMessage());
        }
    }

    private static boolean refused(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.ConnectException || t instanceof java.nio.channels.UnresolvedAddressException
                    || t instanceof java.net.UnknownHostException) return true;
        }
        return false;
    }

    /** Runs a remote call, turning a gRPC status into the CLI's one-line error. */
    <T> T call(Callable<T> body) throws Exception {
        try {
            return body.call();
        } catch (StatusRuntimeException e) {
            String d = e.getStatus().getDescription();
            String what = switch (e.getStatus().getCode()) {
                // nothing listening: say only that; a connection that was made and then dropped is what a TLS
                // server does to a plain-text client, and what a failed TLS handshake looks like
                case UNAVAILABLE -> "cannot reach the job server" + (refused(e) ? "" : tlsCa == null
                        ? " (the connection closed: if it serves TLS, pass --tls-ca with its CA certificate)"
                        : " over TLS (" + (d == null ? "no answer" : d) + "; check that it serves TLS with a certificate --tls-ca " + tlsCa + " trusts)");
                case UNAUTHENTICATED -> "the server did not accept the token" + (d == null ? "" : " (" + d + ")");
                default -> e.getStatus().getCode() + (d == null ? "" : ": " + d);
            };
            throw new Main.UserException(server + ": " + what);
        }
    }
}
