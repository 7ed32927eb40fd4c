package io.qbridge.server;

/** Thrown inside a running job at its next check when it was cancelled, ran past its time limit, or the server is stopping. */
public final class JobAbortedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why the job stopped. */
    public enum Reason { CANCELLED, SHUTDOWN, DEADLINE }

    private final Reason reason;

    public JobAbortedException(Reason reason) {
        super(switch (reason) {
            case CANCELLED -> "cancelled";
            case SHUTDOWN -> "server stopping";
            case DEADLINE -> "deadline exceeded";
        }, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
