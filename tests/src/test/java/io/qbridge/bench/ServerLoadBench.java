package io.qbridge.bench;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.server.JobServer;
import io.qbridge.server.ServerConfig;
import io.qbridge.server.ServerLoad;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The load of issue 6 as a benchmark: 32 clients x 20 run jobs (2 sentences, MiniLM, FP32) through a real
 * server on loopback, beside the same 640 jobs run in one process on the same number of worker threads.
 * Prints throughput (jobs/s) and submit-to-start p50/p99 of both. Each side runs once as a warm-up first.
 *
 * <pre>
 * tests/server-load.sh [WORKERS] [CLIENTS] [JOBS_PER_CLIENT]      # defaults 2 32 20
 * </pre>
 */
public final class ServerLoadBench {
    public static void main(String[] args) throws Exception {
        int workers = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int jobs = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        Path data = Files.createTempDirectory("qbridge-load-");
        EncoderModel model = EncoderModel.load(EncoderModel.Builtin.MINILM);
        ServerLoad.LocalResult local = null;
        ServerLoad.Result remote = null;
        try (JobServer server = JobServer.start(ServerConfig.loopback(0, data, null).withWorkers(workers).withMaxQueued(Math.max(256, clients)))) {
            String addr = "127.0.0.1:" + server.port();
            for (int round = 0; round < 2; round++) { // round 0 warms up the JIT on both paths
                local = ServerLoad.local(model, workers, clients, jobs);
                remote = ServerLoad.remote(addr, clients, jobs);
            }
        }
        long failed = remote.outcomes().stream().filter(o -> o.job().getState() != io.qbridge.protocol.v1.JobState.JOB_STATE_SUCCEEDED).count();
        System.out.printf("%d clients x %d jobs, %d workers, %d cores%n", clients, jobs, workers, Runtime.getRuntime().availableProcessors());
        System.out.printf("| path | jobs | failed | wall s | jobs/s | submit-to-start p50 | p99 |%n| --- | --- | --- | --- | --- | --- | --- |%n");
        System.out.printf("| server (gRPC, loopback, H2) | %d | %d | %.2f | %.1f | %d ms | %d ms |%n", remote.outcomes().size(), failed, remote.wallNanos() / 1e9,
                remote.jobsPerSecond(), remote.submitToStartMillis(50), remote.submitToStartMillis(99));
        System.out.printf("| local, one process | %d | 0 | %.2f | %.1f | %.2f ms | %.2f ms |%n", local.jobs(), local.wallNanos() / 1e9, local.jobsPerSecond(),
                local.submitToStartMillis(50), local.submitToStartMillis(99));
    }
}
