package io.qbridge.server;

import io.grpc.Context;

/** Who is calling, as the bearer token established. Admins see and cancel every job; clients only their own. */
public record Caller(String name, Role role) {
    public enum Role { ADMIN, CLIENT }

    static final Context.Key<Caller> KEY = Context.key("qbridge-caller");

    /** Without a token file every caller is this one: the server then trusts whoever can reach its (loopback) port. */
    static final Caller LOCAL = new Caller("local", Role.ADMIN);

    static Caller current() {
        Caller c = KEY.get();
        if (c == null) throw new IllegalStateException("no caller in the context: the auth interceptor did not run");
        return c;
    }

    boolean maySee(StoredJob job) {
        return role == Role.ADMIN || job.client().equals(name);
    }
}
