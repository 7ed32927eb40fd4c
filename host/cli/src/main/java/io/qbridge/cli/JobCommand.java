package io.qbridge.cli;

import io.qbridge.client.*;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code qbridge job ID}: one job's state, times and result summary. */
@Command(name = "job", mixinStandardHelpOptions = true, description = "Show one job on a job server.")
public final class JobCommand implements Callable<Integer> {
    @Mixin RemoteOptions remote;

    @Parameters(paramLabel = "ID", description = "The job id.")
    String id;

    @Override
    public Integer call() throws Exception {
        try (QbridgeClient c = remote.connect()) {
            JobPrinter.details(System.out, remote.call(() -> c.get(id)));
        }
        return 0;
    }
}
