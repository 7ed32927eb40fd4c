package io.qbridge.xrt;

/**
 * XRT's {@code enum ert_cmd_state} (xrt/detail/ert.h): the state of a kernel run, as {@code xrtRunState} and
 * {@code xrtRunWaitFor} return it. Errors name the state by its C name.
 */
public enum RunState {
    NEW(1), QUEUED(2), RUNNING(3), COMPLETED(4), ERROR(5), ABORT(6), SUBMITTED(7), TIMEOUT(8), NORESPONSE(9), SKERROR(10), SKCRASHED(11);

    private final int code;

    RunState(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The C enumerator's name, e.g. {@code ERT_CMD_STATE_COMPLETED}. */
    public String cName() {
        return "ERT_CMD_STATE_" + name();
    }

    /** Whether the run has stopped (completed or failed) and will not change state again. */
    public boolean finished() {
        return this == COMPLETED || this == ERROR || this == ABORT || this == TIMEOUT || this == NORESPONSE || this == SKERROR || this == SKCRASHED;
    }

    /** The C name of a raw state value; an unknown value is named as such rather than guessed. */
    public static String nameOf(int code) {
        RunState s = of(code);
        return s == null ? "ert_cmd_state(" + code + ", unknown)" : s.cName();
    }

    /** The state with this value, or null. */
    public static RunState of(int code) {
        for (RunState s : values()) if (s.code == code) return s;
        return null;
    }
}
