package io.qbridge.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The spin team covers every index exactly once, also when nested, raced or failing. */
class SpinTeamTest {
    private static void assertEachOnce(AtomicIntegerArray hits, String what) {
        for (int i = 0; i < hits.length(); i++) assertEquals(1, hits.get(i), what + ": index " + i);
    }

    @Test
    void everyIndexRunsOnce() {
        for (int n : new int[] {1, 2, 3, 7, 100, 1001}) {
            for (int rep = 0; rep < 50; rep++) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                SpinTeam.shared().forRange(n, 1, (a, b) -> {
                    for (int i = a; i < b; i++) hits.incrementAndGet(i);
                });
                assertEachOnce(hits, "n=" + n);
            }
        }
    }

    @Test
    void nestedRangesRunInline() {
        AtomicIntegerArray hits = new AtomicIntegerArray(64 * 10);
        SpinTeam.shared().forRange(64, 1, (a, b) -> {
            for (int i = a; i < b; i++) {
                int row = i;
                SpinTeam.shared().forRange(10, 1, (c, d) -> {
                    for (int j = c; j < d; j++) hits.incrementAndGet(row * 10 + j);
                });
            }
        });
        assertEachOnce(hits, "nested");
    }

    @Test
    void concurrentCallersAllComplete() throws InterruptedException {
        AtomicIntegerArray hits = new AtomicIntegerArray(4 * 500);
        Thread[] callers = new Thread[4];
        for (int t = 0; t < callers.length; t++) {
            int base = t * 500;
            callers[t] = new Thread(() -> {
                for (int rep = 0; rep < 5; rep++) {
                    int offset = base + rep * 100;
                    SpinTeam.shared().forRange(100, 1, (a, b) -> {
                        for (int i = a; i < b; i++) hits.incrementAndGet(offset + i);
                    });
                }
            });
            callers[t].start();
        }
        for (Thread t : callers) t.join();
        assertEachOnce(hits, "concurrent");
    }

    @Test
    void aChunkFailureReachesTheCaller() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SpinTeam.shared().forRange(100, 1, (a, b) -> {
            if (a <= 77 && 77 < b) throw new IllegalStateException("chunk with 77");
        }));
        assertEquals("chunk with 77", e.getMessage());
        // The team still works afterwards.
        AtomicIntegerArray hits = new AtomicIntegerArray(10);
        SpinTeam.shared().forRange(10, 1, (a, b) -> {
            for (int i = a; i < b; i++) hits.incrementAndGet(i);
        });
        assertEachOnce(hits, "after a failure");
    }
}
