package io.qbridge.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.DeferredLinear;
import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.SyntheticWeights;
import io.qbridge.quant.Quantized;
import io.qbridge.quant.Rtn;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A layer read from a container dequantizes when first asked for ({@link QuantizedLayer#stored}): the same weights and
 * the same host layer, bit for bit, as the layer made with its weights at hand, in act-order too; and a deferred layer
 * is made once however many threads call it first.
 */
class StoredLayerTest {
    private static final int N = 48, K = 256;

    @Test
    void aStoredLayerHasTheWeightsAndTheHostLayerOfAnEagerOne() {
        SplittableRandom rnd = new SplittableRandom(7);
        float[] w = SyntheticWeights.withOutliers(rnd, N * K), bias = SyntheticWeights.small(rnd, N);
        float[] x = SyntheticWeights.small(rnd, 5 * K);
        for (String id : new String[] {"microscopiq-w4", "rtn-w4g128", "mxfp4"}) {
            QuantFormat f = QuantFormat.parse(id);
            Quantized q = Rtn.quantize(f, w, N, K);
            PackedTensor p = f.pack(q.tensor());
            QuantizedLayer eager = new QuantizedLayer("l", p, bias, q.dequantized()), stored = QuantizedLayer.stored("l", p, bias, null);
            Linear lazy = stored.toHostLinear();
            assertTrue(lazy instanceof DeferredLinear, id + ": a stored layer's host form is made on first use");
            float[] ye = new float[5 * N], ys = new float[5 * N];
            eager.toHostLinear().forward(x, 5, ye);
            lazy.forward(x, 5, ys);
            assertArrayEquals(ye, ys, id);
            assertArrayEquals(q.dequantized(), stored.dequantized(), id);
            assertArrayEquals(eager.toHostLinear().weightsOutIn(), lazy.weightsOutIn(), id);
        }
    }

    @Test
    void anActOrderLayerComesBackInInputOrder() {
        SplittableRandom rnd = new SplittableRandom(8);
        float[] w = SyntheticWeights.small(rnd, N * K);
        int[] perm = IntStream.range(0, K).map(j -> (j * 37 + 11) % K).toArray(); // 37 is prime to 256: a permutation
        QuantFormat f = QuantFormat.parse("rtn-w4g128");
        PackedTensor p = f.pack(Rtn.quantize(f, w, N, K).tensor());
        float[] expected = QuantizedLayer.unpermuteColumns(f.dequantize(p), N, K, perm);
        assertArrayEquals(expected, QuantizedLayer.stored("l", p, null, perm).dequantized());
        assertThrows(IllegalArgumentException.class, () -> QuantizedLayer.stored("l", p, null, perm).toHostLinear(N, K + 1));
    }

    @Test
    void aDeferredLayerIsMadeOnceAcrossThreads() throws InterruptedException {
        AtomicInteger made = new AtomicInteger();
        float[] kn = SyntheticWeights.small(new SplittableRandom(9), K * N);
        DeferredLinear d = new DeferredLinear("d", K, N, null, () -> {
            made.incrementAndGet();
            return DenseLinear.inOut("d", kn, K, N, null);
        });
        assertEquals(0, made.get(), "made before its first use");
        float[] x = SyntheticWeights.small(new SplittableRandom(10), 3 * K), expected = new float[3 * N];
        DenseLinear.inOut("d", kn, K, N, null).forward(x, 3, expected);
        Thread[] threads = new Thread[4];
        float[][] ys = new float[threads.length][3 * N];
        for (int t = 0; t < threads.length; t++) {
            int i = t;
            threads[t] = new Thread(() -> d.forward(x, 3, ys[i]));
            threads[t].start();
        }
        for (Thread t : threads) t.join();
        assertEquals(1, made.get());
        for (float[] y : ys) assertArrayEquals(expected, y);
        DeferredLinear wrong = new DeferredLinear("w", K, N, null, () -> DenseLinear.inOut("w", kn, N, K, null));
        assertThrows(IllegalStateException.class, () -> wrong.forward(x, 3, new float[3 * N]));
    }
}
