package io.qbridge.server;

/**
 * What a running job may do besides computing: report progress, write log lines, and let the server
 * stop it. Executors call {@link #checkpoint()} between units of work (a layer, a batch); it throws
 * {@link JobAbortedException} once the job is cancelled or the server stops.
 */
public interface JobContext {
    String jobId();

    /** @param fraction 0..1 of the job done; {@code stage} says what was just finished */
    void progress(double fraction, String stage);

    void log(String line);

    void checkpoint();

    ArtifactStore artifacts();

    /**
     * Makes the stored file {@code sha256} (an upload or artifact the job names) present in {@link #artifacts()}
     * and returns true, or returns false when this server cannot reach it. In a fleet it is copied from the
     * shared database when this server lacks it (sha256-checked; a corrupt copy throws, its message starting
     * {@code DATA_LOSS:}); on a single server it is there or not.
     */
    default boolean ensureStored(String sha256) throws java.io.IOException {
        return artifacts().contains(sha256);
    }

    /** The device the scheduler gave this job (the host path, the emulator or a board); its slot is the job's until it returns. */
    ComputeDevice device();
}
