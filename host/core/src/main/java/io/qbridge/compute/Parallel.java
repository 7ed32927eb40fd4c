package io.qbridge.compute;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;

/**
 * Splits an index range over the machine's cores. One pool for the whole process, sized by
 * {@code qbridge.threads} (default: all available processors), so that a benchmark can pin the thread
 * count to match a peer's.
 */
public final class Parallel {
    /** A body that handles the half-open range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private static final int THREADS = Integer.getInteger("qbridge.threads", Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

    private Parallel() {}

    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code grain} indices, in parallel when the range
     * is worth splitting. Chunks are contiguous so each thread streams its own part of the data.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(THREADS * 4, Math.max(1, n / Math.max(1, grain)));
        if (POOL == null || chunks <= 1 || insidePool()) {
            body.run(0, n);
            return;
        }
        java.util.concurrent.atomic.AtomicReference<Throwable> thrown = new java.util.concurrent.atomic.AtomicReference<>();
        try {
            POOL.invoke(new Chunk(body, n, chunks, 0, chunks, thrown));
        } catch (RuntimeException | Error e) {
            // ForkJoin re-creates an exception thrown on another worker (same class, the original as cause, its
            // toString as message); callers and users get the body's own exception and message instead.
            Throwable original = thrown.get();
            if (original instanceof RuntimeException r) throw r;
            if (original instanceof Error err) throw err;
            throw e;
        }
    }

    /** Nested calls run inline: the outer split already keeps every core busy. */
    private static boolean insidePool() {
        return Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    private static final class Chunk extends RecursiveAction {
        private final RangeBody body;
        private final int n, chunks, lo, hi;
        private final java.util.concurrent.atomic.AtomicReference<Throwable> thrown;

        Chunk(RangeBody body, int n, int chunks, int lo, int hi, java.util.concurrent.atomic.AtomicReference<Throwable> thrown) {
            this.thrown = thrown;
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int from = (int) ((long) n * lo / chunks);
                int to = (int) ((long) n * hi / chunks);
                try {
                    body.run(from, to);
                } catch (RuntimeException | Error e) {
                    thrown.compareAndSet(null, e);
                    throw e;
                }
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Chunk(body, n, chunks, lo, mid, thrown), new Chunk(body, n, chunks, mid, hi, thrown));
        }
    }
}
