package io.qbridge.server;

import io.qbridge.client.QbridgeClient;
import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.protocol.v1.Job;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The load of issue 6: {@code clients} concurrent clients, each with its own connection, each submitting
 * {@code jobsPerClient} small run jobs (two sentences on MiniLM, FP32) one after another and waiting for
 * each (a closed loop: every client has one job in flight). Used by ServerLoadTest (correctness) and by
 * the tests module's ServerLoadBench (throughput and submit-to-start latency beside the same work in one
 * process).
 */
public final class ServerLoad {
    private ServerLoad() {}

    public static final String MODEL = "minilm";

    /** The two sentences of job {@code index} of client {@code client}: consecutive sentences of the benchmark split. */
    public static List<String> sentences(int client, int index, int jobsPerClient) {
        List<String> bench = EvalCorpus.split(EvalCorpus.Split.BENCH);
        int k = (client * jobsPerClient + index) % bench.size();
        return List.of(bench.get(k), bench.get((k + 1) % bench.size()));
    }

    /** One finished job as its client saw it; {@code createdMillis}/{@code startedMillis} are the server's. */
    public record Outcome(int client, int index, Job job) {
        public long submitToStartMillis() {
            return job.getStartedMillis() - job.getCreatedMillis();
        }
    }

    /** All outcomes and the wall time from the first submit to the last result. */
    public record Result(List<Outcome> outcomes, long wallNanos) {
        public double jobsPerSecond() {
            return outcomes.size() / (wallNanos / 1e9);
        }

        /** Nearest-rank percentile of submit-to-start, in ms. */
        public long submitToStartMillis(double p) {
            long[] v = outcomes.stream().mapToLong(Outcome::submitToStartMillis).sorted().toArray();
            return v[Math.max(0, Math.min(v.length - 1, (int) Math.ceil(p / 100 * v.length) - 1))];
        }
    }

    /** Runs the load against a server; a client that fails throws from here. */
    public static Result remote(String hostPort, int clients, int jobsPerClient) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<List<Outcome>>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int client = c;
            futures.add(pool.submit(() -> {
                List<Outcome> out = new ArrayList<>();
                try (QbridgeClient q = QbridgeClient.connect(hostPort, null)) {
                    for (int i = 0; i < jobsPerClient; i++) {
                        Job j = q.submit(QbridgeClient.runSpec(MODEL, sentences(client, i, jobsPerClient)), 0);
                        out.add(new Outcome(client, i, q.await(j.getId(), null)));
                    }
                }
                return out;
            }));
        }
        List<Outcome> all = new ArrayList<>();
        try {
            for (Future<List<Outcome>> f : futures) all.addAll(f.get(30, TimeUnit.MINUTES));
        } finally {
            pool.shutdownNow();
        }
        return new Result(Collections.unmodifiableList(all), System.nanoTime() - t0);
    }

    /** The local side of the comparison: the same jobs, the same closed loop, {@code workers} threads computing, one process, no server. */
    public record LocalResult(int jobs, long wallNanos, long[] submitToStartNanos) {
        public double jobsPerSecond() {
            return jobs / (wallNanos / 1e9);
        }

        public double submitToStartMillis(double p) {
            long[] v = submitToStartNanos.clone();
            Arrays.sort(v);
            return v[Math.max(0, Math.min(v.length - 1, (int) Math.ceil(p / 100 * v.length) - 1))] / 1e6;
        }
    }

    public static LocalResult local(EncoderModel model, int workers, int clients, int jobsPerClient) throws Exception {
        ExecutorService compute = Executors.newFixedThreadPool(workers);
        ExecutorService clientPool = Executors.newFixedThreadPool(clients);
        long[] waits = new long[clients * jobsPerClient];
        List<Future<?>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int client = c;
            futures.add(clientPool.submit(() -> {
                for (int i = 0; i < jobsPerClient; i++) {
                    List<String> s = sentences(client, i, jobsPerClient);
                    long submitted = System.nanoTime();
                    int slot = client * jobsPerClient + i;
                    compute.submit(() -> {
                        waits[slot] = System.nanoTime() - submitted;
                        return model.embedIds(model.tokenize(s, null), EncoderModel.DEFAULT_BATCH_TOKENS);
                    }).get();
                }
                return null;
            }));
        }
        try {
            for (Future<?> f : futures) f.get(30, TimeUnit.MINUTES);
        } finally {
            clientPool.shutdownNow();
            compute.shutdownNow();
        }
        return new LocalResult(waits.length, System.nanoTime() - t0, waits);
    }
}
