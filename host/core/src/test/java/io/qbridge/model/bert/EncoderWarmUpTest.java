package io.qbridge.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The JIT warm-up of {@code qbridge embed} only costs time: a real model embedding while it runs (on the same
 * thread pool) gets the same bits as alone, and loading a built-in from bytes already read (as a container's
 * loader does, hashing them too) gives the same model as loading it from its jar.
 */
class EncoderWarmUpTest {
    /** The name of the device probe's layer. */
    private static final String PROBE = "warm-up.probe.weight";

    @Test
    void embeddingsComputedDuringTheWarmUpAreTheSameBits() {
        EncoderModel m = EncoderModel.load(EncoderModel.Builtin.MINILM);
        List<int[]> ids = m.tokenize(List.of("The committee adopted the report without a vote.", "Yes.",
                "We must ensure that the rules apply to every member state, large or small."), null);
        float[][] alone = m.embedIds(ids, 4096);
        float[][] during;
        try (EncoderWarmUp warm = EncoderWarmUp.start()) {
            assertNotNull(warm, "qbridge.warmup is not set to false in tests");
            during = m.embedIds(ids, 4096);
        }
        for (int s = 0; s < alone.length; s++) assertArrayEquals(alone[s], during[s], "sentence " + s);
    }

    /**
     * close() ends the warm-up after the layer it is in, not after the rest of the pass: the device layers of the
     * tiny model here count their calls (not the probe's, which run before the passes), and the first holds until
     * close() has been asked for.
     */
    @Test
    void closeEndsTheWarmUpAfterTheLayerItIsRunning() throws Exception {
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CountDownLatch inFirst = new java.util.concurrent.CountDownLatch(1), release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean after = new java.util.concurrent.atomic.AtomicBoolean();
        EncoderWarmUp warm = EncoderWarmUp.start(l -> new io.qbridge.model.ForwardingLinear(l) {
            @Override
            public void forward(float[] x, int rows, float[] y) {
                if (!name().equals(PROBE) && calls.incrementAndGet() == 1) {
                    inFirst.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                inner.forward(x, rows, y);
            }
        }, () -> after.set(true));
        assertNotNull(warm, "qbridge.warmup is not set to false in tests");
        org.junit.jupiter.api.Assertions.assertTrue(inFirst.await(1, java.util.concurrent.TimeUnit.MINUTES), "the warm-up never reached its device layers");
        Thread closer = new Thread(warm::close);
        closer.start();
        Thread.sleep(200); // close() has asked the warm-up to stop and is waiting for it
        release.countDown();
        closer.join(60_000);
        org.junit.jupiter.api.Assertions.assertFalse(closer.isAlive(), "close() did not return");
        org.junit.jupiter.api.Assertions.assertEquals(1, calls.get(), "device layers run after close() was asked for (a pass has 6)");
        org.junit.jupiter.api.Assertions.assertTrue(after.get(), "the warm-up's end action did not run");
    }

    /**
     * The device probe runs on the device path (through the layers' replacement), after close() has been asked for, and
     * is over when close() returns: no device call is made after that, and none of the tiny model's device passes.
     */
    @Test
    void closeWaitsForTheDeviceProbeAndNothingRunsAfterIt() {
        java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> calls = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean(), late = new java.util.concurrent.atomic.AtomicBoolean();
        EncoderWarmUp warm = EncoderWarmUp.start(l -> new io.qbridge.model.ForwardingLinear(l) {
            @Override
            public void forward(float[] x, int rows, float[] y) {
                if (closed.get()) late.set(true);
                calls.computeIfAbsent(name(), n -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
                inner.forward(x, rows, y);
            }
        }, () -> {});
        assertNotNull(warm, "qbridge.warmup is not set to false in tests");
        warm.close();
        closed.set(true);
        org.junit.jupiter.api.Assertions.assertEquals(java.util.Set.of(PROBE), calls.keySet(), "device layers called by the warm-up");
        int probes = calls.get(PROBE).get();
        org.junit.jupiter.api.Assertions.assertTrue(probes >= 1 && probes <= 150, "probe calls: " + probes);
        org.junit.jupiter.api.Assertions.assertFalse(late.get(), "a device call after close() returned");
    }

    @Test
    void aBuiltinLoadedFromItsBytesIsTheSameModel() throws java.io.IOException {
        EncoderModel fromJar = EncoderModel.load(EncoderModel.Builtin.MINILM);
        EncoderModel fromBytes = EncoderModel.load(EncoderModel.Builtin.MINILM, EncoderModel.onnxBytes(EncoderModel.Builtin.MINILM));
        List<String> text = List.of("Energy prices have risen sharply across the Union this winter.");
        List<int[]> ids = fromJar.tokenize(text, null);
        assertArrayEquals(ids.get(0), fromBytes.tokenize(text, null).get(0));
        assertArrayEquals(fromJar.embedIds(ids, 4096)[0], fromBytes.embedIds(ids, 4096)[0]);
    }
}
