package io.qbridge.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Authenticates every call by its {@code authorization: Bearer <token>} header and puts the
 * {@link Caller} into the call's context. A missing or unknown token ends the call with UNAUTHENTICATED
 * before any handler runs.
 */
final class BearerAuthInterceptor implements ServerInterceptor {
    /** The calling peer's address, for the log line of a refused call. */
    static final Context.Key<String> REMOTE = Context.key("qbridge-remote");
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String PREFIX = "Bearer ";

    private final TokenFile tokens; // null: no authentication

    BearerAuthInterceptor(TokenFile tokens) {
        this.tokens = tokens;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Caller caller;
        String remote = remote(call);
        if (tokens == null) {
            caller = Caller.LOCAL;
        } else {
            String h = headers.get(AUTHORIZATION);
            if (h == null || !h.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
                return reject(call, remote, "missing 'authorization: Bearer <token>' header");
            }
            caller = tokens.authenticate(h.substring(PREFIX.length()).strip());
            if (caller == null) return reject(call, remote, "unknown token");
        }
        return Contexts.interceptCall(Context.current().withValue(Caller.KEY, caller).withValue(REMOTE, remote), call, headers, next);
    }

    /** The peer's address as the transport saw it ("unknown" if it did not say). */
    static String remote(ServerCall<?, ?> call) {
        java.net.SocketAddress a = call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        return a == null ? "unknown" : a.toString().replaceFirst("^/", "");
    }

    /** The address in the current call's context. */
    static String currentRemote() {
        String r = REMOTE.get();
        return r == null ? "unknown" : r;
    }

    private static <Q, R> ServerCall.Listener<Q> reject(ServerCall<Q, R> call, String remote, String why) {
        // the reason and the address, never the header's value: a token in a log is a leaked token
        ServerLog.info("refused %s from %s: UNAUTHENTICATED (%s)", call.getMethodDescriptor().getFullMethodName(), remote, why);
        call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
        return new ServerCall.Listener<>() {};
    }
}
