package io.qbridge.compute;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of threads that fans one index range out with a few microseconds of overhead, for work too
 * small for fork-join: decoding one token runs ~35 matrix-vector products of well under a millisecond each,
 * and waking parked {@link java.util.concurrent.ForkJoinPool} workers for every one of them costs more than
 * the second core gains. Idle workers spin briefly (as OpenMP's do) and then park, so an idle process does not
 * burn the shared cores. Sized like {@link Parallel}: {@code qbridge.threads}, default all processors.
 *
 * <p>One range runs at a time; a call made while another runs (another thread's decoder) or from inside a
 * team thread runs on the calling thread alone.
 */
public final class SpinTeam {
    /** How long an idle worker spins before it parks. */
    private static final long SPIN_NANOS = 2_000_000;
    /** How long a waiting thread spins before it also yields its core to others between checks. */
    private static final long YIELD_AFTER_NANOS = 50_000;
    /**
     * Chunks per thread: 2 measured a little faster than 4 or 8 on the 42M model (fewer hand-offs, longer
     * streams per thread) while still letting the caller take over a chunk when a worker is slow to start.
     */
    private static final int CHUNKS_PER_THREAD = 2;

    private static final SpinTeam SHARED = new SpinTeam(Parallel.threads());

    /** One published range: chunks are claimed through {@code next} and counted back through {@code done}. */
    private static final class Job {
        final Parallel.RangeBody body;
        final int n, chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(Parallel.RangeBody body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
        }

        /** Claims and runs chunks until none are left. */
        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                try {
                    body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private final int threads;
    private final Thread[] workers;
    /** Held by the one caller whose range runs (not reentrant: a nested call runs inline). */
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Job job;
    /** Bumped after {@link #job} is set: workers watch it. */
    private volatile long generation;
    /** 1 while worker i is parked or about to park. */
    private final AtomicInteger[] parked;

    private SpinTeam(int threads) {
        this.threads = Math.max(1, threads);
        workers = new Thread[this.threads - 1];
        parked = new AtomicInteger[workers.length];
        for (int i = 0; i < workers.length; i++) {
            parked[i] = new AtomicInteger();
            final int index = i;
            workers[i] = new TeamThread(() -> workLoop(index), "qbridge-spin-" + (i + 1));
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    public static SpinTeam shared() {
        return SHARED;
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over [0, n) in contiguous chunks of at least {@code grain} indices, on the whole team
     * when there is more than one chunk. Returns when every chunk has run; rethrows a chunk's failure.
     */
    public void forRange(int n, int grain, Parallel.RangeBody body) {
        if (n <= 0) return;
        int chunks = (int) Math.min(threads * (long) CHUNKS_PER_THREAD, Math.max(1, n / Math.max(1, grain)));
        if (threads == 1 || chunks <= 1 || Thread.currentThread() instanceof TeamThread
                || !busy.compareAndSet(false, true)) {
            body.run(0, n);
            return;
        }
        try {
            Job j = new Job(body, n, chunks);
            job = j;
            generation++; // volatile write after the job: a worker that sees it sees the job
            for (int i = 0; i < workers.length; i++) {
                if (parked[i].get() != 0) LockSupport.unpark(workers[i]);
            }
            j.work();
            awaitDone(j);
            Throwable t = j.failure;
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        } finally {
            busy.set(false);
        }
    }

    /**
     * Waits for the workers' last chunks. Past {@link #YIELD_AFTER_NANOS} the wait yields the core on every
     * round: on a loaded machine the worker we wait for may be queued behind us on this very core.
     */
    private static void awaitDone(Job j) {
        int spins = 0;
        long start = 0;
        while (j.done.get() < j.chunks) {
            Thread.onSpinWait();
            if ((++spins & 255) == 0) {
                long now = System.nanoTime();
                if (start == 0) start = now;
                else if (now - start > YIELD_AFTER_NANOS) Thread.yield();
            }
        }
    }

    private void workLoop(int index) {
        long seen = 0;
        while (true) {
            long spinStart = System.nanoTime();
            int spins = 0;
            while (generation == seen) {
                Thread.onSpinWait();
                if ((++spins & 1023) == 0 && System.nanoTime() - spinStart > YIELD_AFTER_NANOS) Thread.yield();
                if ((spins & 1023) == 0 && System.nanoTime() - spinStart > SPIN_NANOS) {
                    // Announce the park, then look again: a caller that published before seeing the flag is caught here.
                    parked[index].set(1);
                    if (generation == seen) LockSupport.park(this);
                    parked[index].set(0);
                    spinStart = System.nanoTime();
                }
            }
            seen = generation;
            Job j = job;
            if (j != null) j.work();
        }
    }

    /** Marks the team's own threads so nested ranges run inline. */
    private static final class TeamThread extends Thread {
        TeamThread(Runnable r, String name) {
            super(r, name);
        }
    }
}
