package io.qbridge.server;

import io.qbridge.protocol.v1.JobResult;

/** Does one job's work. Implementations check {@link JobContext#checkpoint()} often enough to stop within a second. */
public interface JobExecutor {
    JobResult execute(StoredJob job, JobContext ctx) throws Exception;
}
