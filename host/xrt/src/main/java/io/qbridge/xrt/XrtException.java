package io.qbridge.xrt;

/**
 * A failed XRT call. The message names the C function, its arguments and, for runs, the run state by its
 * {@code ERT_CMD_STATE_*} name, so that one line in a log says what the host asked the device to do.
 */
public final class XrtException extends RuntimeException {
    private final String call;
    private final RunState state;

    public XrtException(String call, String detail, RunState state) {
        super(call + (detail == null || detail.isEmpty() ? "" : ": " + detail) + (state == null ? "" : " (run state " + state.cName() + ")"));
        this.call = call;
        this.state = state;
    }

    public XrtException(String call, String detail) {
        this(call, detail, null);
    }

    /** The call as written in the message, e.g. {@code xrtBOSync(bo#3 "weights", XCL_BO_SYNC_BO_TO_DEVICE, 4096, 0)}. */
    public String call() {
        return call;
    }

    /** The run's state when the call failed, or null when the call is not about a run. */
    public RunState state() {
        return state;
    }
}
