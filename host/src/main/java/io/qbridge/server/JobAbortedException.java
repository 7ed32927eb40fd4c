package io.qbridge.server;

/** Thrown inside a running job at its next check when it was cancelled or the server is stopping. */
public final class JobAbortedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why the job stopped. */
    public enum Reason { CANCELLED, SHUTDOWN }

    private final Reason reason;

    public JobAbortedException(Reason reason) {
        super(reason == Reason.CANCELLED ? "cancelled" : "server stopping", null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
