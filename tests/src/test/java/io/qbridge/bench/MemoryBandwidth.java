package io.qbridge.bench;

/**
 * A STREAM-like measure of this machine's memory bandwidth, for the roofline lines of BENCHMARKS.md §2b: a read
 * loop (sum of an int array, which C2 vectorises) and a copy ({@code System.arraycopy}) over arrays far larger
 * than the caches, on T threads (each its own slice), best of several passes. Runs without the project on the
 * class path: {@code java tests/src/test/java/io/qbridge/bench/MemoryBandwidth.java [THREADS] [MB]}.
 */
public final class MemoryBandwidth {
    private MemoryBandwidth() {}

    public static void main(String[] args) throws InterruptedException {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        int mb = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        int n = mb / 4 * (1 << 20);
        int[] a = new int[n], b = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        double bestRead = 0, bestCopy = 0;
        long[] sink = new long[threads];
        for (int pass = 0; pass < 7; pass++) {
            bestRead = Math.max(bestRead, 4.0 * n / 1e9 / timed(threads, (t, lo, hi) -> {
                long s = 0;
                for (int i = lo; i < hi; i++) s += a[i];
                sink[t] += s;
            }, n));
            // a copy reads and writes every byte once (STREAM counts both)
            bestCopy = Math.max(bestCopy, 8.0 * n / 1e9 / timed(threads, (t, lo, hi) -> System.arraycopy(a, lo, b, lo, hi - lo), n));
        }
        System.out.printf("memory bandwidth, %d threads, %d MB arrays: read %.1f GB/s, copy %.1f GB/s (best of 7; checksum %d)%n", threads, mb, bestRead,
                bestCopy, java.util.Arrays.stream(sink).sum() + b[n - 1]);
    }

    private interface Slice { void run(int thread, int lo, int hi); }

    /** Seconds for all threads to run their slices of [0, n). */
    private static double timed(int threads, Slice body, int n) throws InterruptedException {
        Thread[] ts = new Thread[threads];
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int id = t, lo = (int) ((long) n * t / threads), hi = (int) ((long) n * (t + 1) / threads);
            ts[t] = new Thread(() -> body.run(id, lo, hi));
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        return (System.nanoTime() - t0) / 1e9;
    }
}
