package io.qbridge.server;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether a server is open to anyone who can reach its port: bound beyond loopback without bearer tokens or
 * without TLS. {@code qbridge serve} refuses that unless the operator says {@code --insecure}; a server that
 * starts so anyway says it at start and in a response header of every call ({@link #HEADER}), health and
 * ListDevices included, so a client or probe sees it too.
 */
public final class Exposure {
    /** Response header carrying the warning. */
    static final Metadata.Key<String> HEADER = Metadata.Key.of("qbridge-insecure", Metadata.ASCII_STRING_MARSHALLER);

    private Exposure() {}

    /** Whether {@code host} names only loopback (an unresolvable name counts as not loopback). */
    static boolean isLoopback(String host) {
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) if (!a.isLoopbackAddress()) return false;
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** What a non-loopback server lacks ("a token file (--token-file)", "TLS (--tls-cert and --tls-key)"); empty when safe. */
    static List<String> missing(ServerConfig c) {
        List<String> m = new ArrayList<>();
        if (isLoopback(c.host())) return m;
        if (c.tokenFile() == null) m.add("a token file (--token-file)");
        if (c.tls() == null) m.add("TLS (--tls-cert and --tls-key)");
        return m;
    }

    /** The one line {@code serve} refuses with, or null when nothing is missing. */
    static String refusal(ServerConfig c) {
        List<String> m = missing(c);
        if (m.isEmpty()) return null;
        return "--host " + c.host() + " is reachable beyond this machine but lacks " + String.join(" and ", m)
                + ": anyone who can reach the port could upload models and run jobs; add " + (m.size() == 1 ? "it" : "them") + ", or pass --insecure";
    }

    /** The warning a started exposed server logs and sends. */
    static String warning(ServerConfig c) {
        return "insecure: listening on " + c.host() + " without " + String.join(" and without ", missing(c)) + " (started with --insecure)";
    }

    /** Adds {@link #HEADER} with {@code warning} to the response headers of every call. */
    static ServerInterceptor header(String warning) {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public void sendHeaders(Metadata responseHeaders) {
                        responseHeaders.put(HEADER, warning);
                        super.sendHeaders(responseHeaders);
                    }
                }, headers);
            }
        };
    }

    /** For {@code serve}: the refusal line unless {@code insecure}, else null. */
    public static String check(ServerConfig c, boolean insecure) {
        return insecure ? null : refusal(c);
    }
}
