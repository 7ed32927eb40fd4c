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

    /** The device the scheduler gave this job (the host path, the emulator or a board); its slot is the job's until it returns. */
    ComputeDevice device();
}
