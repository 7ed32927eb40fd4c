package io.qbridge.cli;

import io.qbridge.client.*;

import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ListJobsResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qbridge jobs}: the caller's jobs (an admin's: everyone's), newest first. */
@Command(name = "jobs", mixinStandardHelpOptions = true, description = "List jobs on a job server, newest first.")
public final class JobsCommand implements Callable<Integer> {
    @Mixin RemoteOptions remote;

    @Option(names = "--state", paramLabel = "STATE", split = ",", description = "Only these states: queued, running, succeeded, failed, cancelled, interrupted.")
    List<String> states = new ArrayList<>();

    @Option(names = "--limit", defaultValue = "50", paramLabel = "N", description = "At most this many jobs (default 50).")
    int limit;

    @Override
    public Integer call() throws Exception {
        List<JobState> filter = new ArrayList<>();
        for (String s : states) {
            try {
                filter.add(JobState.valueOf("JOB_STATE_" + s.strip().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new io.qbridge.cli.Main.UserException("--state: no state '" + s + "'");
            }
        }
        try (QbridgeClient c = remote.connect()) {
            List<Job> jobs = new ArrayList<>();
            String token = "";
            while (jobs.size() < limit) {
                String t = token;
                ListJobsResponse page = remote.call(() -> c.list(filter, Math.min(500, limit - jobs.size()), t));
                jobs.addAll(page.getJobsList());
                token = page.getNextPageToken();
                if (token.isEmpty()) break;
            }
            System.out.printf("%-20s %-9s %-12s %-12s %s%n", "ID", "KIND", "STATE", "CLIENT", "CREATED");
            for (Job j : jobs) {
                System.out.printf("%-20s %-9s %-12s %-12s %s%n", j.getId(), JobPrinter.kind(j.getKind()), JobPrinter.state(j.getState()), j.getClient(),
                        JobPrinter.time(j.getCreatedMillis()));
            }
        }
        return 0;
    }
}
