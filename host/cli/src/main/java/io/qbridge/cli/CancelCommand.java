package io.qbridge.cli;

import io.qbridge.client.*;

import io.qbridge.protocol.v1.Job;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code qbridge cancel ID}: cancels a queued job at once, a running one at its next layer or batch. */
@Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a job on a job server (idempotent).")
public final class CancelCommand implements Callable<Integer> {
    @Mixin RemoteOptions remote;

    @Parameters(paramLabel = "ID", description = "The job id.")
    String id;

    @Override
    public Integer call() throws Exception {
        try (QbridgeClient c = remote.connect()) {
            Job j = remote.call(() -> c.cancel(id));
            System.out.printf("job %s: %s%s%n", j.getId(), JobPrinter.state(j.getState()),
                    j.getState() == io.qbridge.protocol.v1.JobState.JOB_STATE_RUNNING ? " (stops at its next layer or batch)" : "");
        }
        return 0;
    }
}
