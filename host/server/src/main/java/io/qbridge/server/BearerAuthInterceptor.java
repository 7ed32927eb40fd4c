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
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String PREFIX = "Bearer ";

    private final TokenFile tokens; // null: no authentication

    BearerAuthInterceptor(TokenFile tokens) {
        this.tokens = tokens;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Caller caller;
        if (tokens == null) {
            caller = Caller.LOCAL;
        } else {
            String h = headers.get(AUTHORIZATION);
            if (h == null || !h.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
                return reject(call, "missing 'authorization: Bearer <token>' header");
            }
            caller = tokens.authenticate(h.substring(PREFIX.length()).strip());
            if (caller == null) return reject(call, "unknown token");
        }
        return Contexts.interceptCall(Context.current().withValue(Caller.KEY, caller), call, headers, next);
    }

    private static <Q, R> ServerCall.Listener<Q> reject(ServerCall<Q, R> call, String why) {
        call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
        return new ServerCall.Listener<>() {};
    }
}
