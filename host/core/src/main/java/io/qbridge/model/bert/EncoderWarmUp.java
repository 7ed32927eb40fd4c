package io.qbridge.model.bert;

import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.SyntheticWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * JIT warm-up for a process that is about to embed: a daemon thread runs a tiny random encoder (hidden 128, four
 * heads of 32 like the real models' heads, one layer) through the same code as a real one ({@link BertEncoder#forward}:
 * the FP32 matrix-product kernel, attention, LayerNorm, GELU, pooling) while the real model loads, so C2 has
 * compiled those loops before the first real batch. A fresh {@code qbridge embed} otherwise runs its first batch
 * partly in the interpreter (the Vector API is slow until C2 compiles it): BENCHMARKS.md §1b measures the
 * difference. Only speed: the tiny model's outputs are discarded. {@code -Dqbridge.warmup=false} turns it off,
 * as for {@link io.qbridge.model.llama.DecoderWarmUp}.
 */
public final class EncoderWarmUp implements AutoCloseable {
    /** Forward passes of the tiny model; at most {@link #MAX_NANOS} in all. */
    private static final int FORWARDS = 300;
    private static final long MAX_NANOS = 2_000_000_000L;
    /** Token counts of the sentences of one warm-up batch: short and long rows, whole and partial vectors. */
    private static final int[] LENGTHS = {7, 19, 33, 12, 26, 9};

    private final Thread thread;
    private volatile boolean stop;

    private EncoderWarmUp(UnaryOperator<Linear> linears, Runnable after) {
        thread = new Thread(() -> {
            try {
                run(linears);
            } catch (RuntimeException e) {
                // only speed: a tiny layer a device path cannot take ends the warm-up, never the command
            } finally {
                after.run();
            }
        }, "qbridge-encoder-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts the warm-up thread on the FP32 host path, or returns null when {@code qbridge.warmup} is false. */
    public static EncoderWarmUp start() {
        return start(UnaryOperator.identity(), () -> {});
    }

    /**
     * As {@link #start()}, with each of the tiny encoder's linear layers replaced by {@code linears} (a device path
     * warms its own kernels this way; the replacement runs on the warm-up thread), and {@code after} run on that
     * thread when it ends (to unload what {@code linears} loaded).
     */
    public static EncoderWarmUp start(UnaryOperator<Linear> linears, Runnable after) {
        if (!Boolean.parseBoolean(System.getProperty("qbridge.warmup", "true"))) return null;
        return new EncoderWarmUp(linears, after);
    }

    /**
     * Ends the warm-up after its current forward pass and waits for it: called before the real batches, so the
     * tiny model takes no CPU from them.
     */
    @Override
    public void close() {
        stop = true;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run(UnaryOperator<Linear> linears) {
        long end = System.nanoTime() + MAX_NANOS;
        BertEncoder enc = tiny().mapLinears(linears);
        List<int[]> batch = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(2);
        for (int len : LENGTHS) {
            int[] ids = new int[len];
            for (int i = 0; i < len; i++) ids[i] = rnd.nextInt(enc.config().vocabSize());
            batch.add(ids);
        }
        for (int i = 0; i < FORWARDS && !stop && System.nanoTime() < end; i++) {
            BertEncoder.pool(enc.forward(batch), i % 2 == 0 ? Pooling.MEAN : Pooling.CLS);
        }
    }

    /**
     * A random one-layer encoder: hidden 128 (4 heads of 32, the real models' head size), intermediate 512, 128
     * tokens, 64 positions; 128 columns so that every format's blocks and groups fit.
     */
    static BertEncoder tiny() {
        BertConfig c = new BertConfig(128, 128, 1, 4, 512, 64, 2, 1e-12f);
        SplittableRandom rnd = new SplittableRandom(1);
        int h = c.hidden(), f = c.intermediate();
        List<BertLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.layers(); l++) {
            String p = "encoder.layer." + l + ".";
            layers.add(new BertLayer(linear(rnd, p + "attention.self.query", h, h), linear(rnd, p + "attention.self.key", h, h),
                    linear(rnd, p + "attention.self.value", h, h), linear(rnd, p + "attention.output.dense", h, h), SyntheticWeights.ones(h), new float[h],
                    linear(rnd, p + "intermediate.dense", h, f), linear(rnd, p + "output.dense", f, h), SyntheticWeights.ones(h), new float[h]));
        }
        return new BertEncoder(c, SyntheticWeights.small(rnd, c.vocabSize() * h), SyntheticWeights.small(rnd, c.maxPositions() * h), SyntheticWeights.small(rnd, c.typeVocabSize() * h),
                SyntheticWeights.ones(h), new float[h], layers);
    }

    private static Linear linear(SplittableRandom rnd, String name, int in, int out) {
        return DenseLinear.inOut(name + ".weight", SyntheticWeights.small(rnd, in * out), in, out, SyntheticWeights.small(rnd, out));
    }
}
