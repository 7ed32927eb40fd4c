package io.qbridge.server;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The job server's TLS context, on the JDK's TLS provider (ALPN for HTTP/2 is built
 * into JDK 9+, so no netty-tcnative is needed). Errors name the file and what is wrong with it.
 */
final class TlsContexts {
    private TlsContexts() {}

    /** The server side, from a PEM certificate chain and a PEM PKCS#8 private key. */
    static SslContext server(ServerConfig.Tls tls) throws IOException {
        requireFile(tls.certChain(), "--tls-cert");
        requireFile(tls.privateKey(), "--tls-key");
        try {
            return GrpcSslContexts.configure(io.netty.handler.ssl.SslContextBuilder.forServer(tls.certChain().toFile(), tls.privateKey().toFile()),
                    SslProvider.JDK).build();
        } catch (IllegalArgumentException | javax.net.ssl.SSLException e) {
            throw new IOException(tls.certChain() + " / " + tls.privateKey() + ": not a usable PEM certificate and PKCS#8 key pair: " + e.getMessage(), e);
        }
    }

    private static void requireFile(Path p, String option) throws IOException {
        if (!Files.isRegularFile(p)) throw new IOException(option + " " + p + ": no such file");
    }
}
