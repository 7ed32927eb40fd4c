package io.qbridge.server;

import io.qbridge.protocol.v1.Embedding;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.RunResult;
import io.qbridge.client.QbridgeClient;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** Executors and helpers for server tests whose subject is the job machinery, not the models. */
final class TestServers {
    private TestServers() {}

    static final ComputeDevice HOST = new ComputeDevice.Host(1);

    /** Finishes every job at once with a one-sentence run result. */
    static final class Instant implements JobExecutor {
        final AtomicInteger executed = new AtomicInteger();

        public JobResult execute(StoredJob job, JobContext ctx) {
            executed.incrementAndGet();
            ctx.progress(1, "done");
            return JobResult.newBuilder().setRun(RunResult.newBuilder().setModel("fake").setDim(1).addEmbeddings(Embedding.newBuilder().addValues(1f))).build();
        }
    }

    /** Holds every job in a checkpoint loop (as a long layer-by-layer job would) until {@link #open} is released. */
    static final class Gate implements JobExecutor {
        final CountDownLatch open = new CountDownLatch(1);
        final CountDownLatch started = new CountDownLatch(1);

        public JobResult execute(StoredJob job, JobContext ctx) throws InterruptedException {
            started.countDown();
            while (open.getCount() > 0) {
                ctx.checkpoint();
                Thread.sleep(5);
            }
            return new Instant().execute(job, ctx);
        }
    }

    static Job awaitState(QbridgeClient c, String id, JobState state, long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        Job j = c.get(id);
        while (j.getState() != state && System.currentTimeMillis() < end) {
            Thread.sleep(10);
            j = c.get(id);
        }
        if (j.getState() != state) throw new AssertionError("job " + id + " is " + j.getState() + ", expected " + state + " within " + timeoutMs + " ms");
        return j;
    }
}
