package io.qbridge.model.bert;

import io.qbridge.model.DenseLinear;
import io.qbridge.model.ForwardingLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.SyntheticWeights;
import io.qbridge.model.WarmUps;
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
    /**
     * Forward passes of the tiny model that a device path's warm-up makes first, on {@link #HOST_LENGTHS}, with
     * {@link #copying} linear layers. Its attention, LayerNorm and GELU run on the host in FP32, and on the emulator's
     * path C2 is busy with the device kernels: warmed only beside them, the host's attention kernels were compiled
     * seconds late or, for whole runs, not outside their loops, and a fresh {@code qbridge run} took 1.5-2 s longer in
     * about half of its runs (BENCHMARKS.md §1b, fifth pass). Few and short, because until C2 has compiled them these
     * passes run the Vector API interpreted and hold back the device passes.
     */
    private static final int HOST_FORWARDS = 15;
    /**
     * Token counts of the sentences of one warm-up batch: short and long rows, whole and partial vectors, and one
     * sentence of more than 48 tokens, whose attention products take the 6x4 tile as long real sentences do.
     */
    private static final int[] LENGTHS = {7, 19, 33, 12, 26, 9, 57};
    /** The host passes' batch: one sentence of each of attention's two product kernels. */
    private static final int[] HOST_LENGTHS = {9, 57};
    /**
     * The device probe's layer ({@link #probe}): {@link #PROBE_TOKENS} tokens of {@link #PROBE_IN} inputs to
     * {@link #PROBE_OUT} outputs. Twelve tokens: the emulator runs at most eight on its decode kernel, and twelve are two
     * of its 6-token tiles. Thirty-two inputs: one MX block, and the two 16-blocks a MicroScopiQ plan sums as one chunk,
     * as it does in the real layers; every format the emulator takes loads such a layer. 128 outputs: one wide tile.
     * Small, so that a call is cheap while the kernels are still in the interpreter.
     */
    private static final int PROBE_TOKENS = 12, PROBE_IN = 32, PROBE_OUT = 128;
    /**
     * Enough calls for C2 to have queued every kernel of the call (at the launcher's tenth of the usual thresholds, about
     * sixty invocations each) and compiled most: on this project's 2-core machine the calls ran at C2 speed from the
     * 84th-125th on (BENCHMARKS.md §1b, tenth pass). A compiled call takes about 0.2 ms, so calls past that point cost
     * little.
     */
    private static final int PROBE_CALLS = 150;
    private static final long PROBE_MAX_NANOS = 1_000_000_000L;

    private final Thread thread;
    private volatile boolean stop;

    /** {@code linears} null: the FP32 host path only. */
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

    /** Starts the warm-up thread on the FP32 host path, or returns null when warm-ups are off ({@link WarmUps#enabled}). */
    public static EncoderWarmUp start() {
        if (!WarmUps.enabled()) return null;
        return new EncoderWarmUp(null, () -> {});
    }

    /**
     * As {@link #start()} for a device path: {@link #HOST_FORWARDS} passes of the tiny encoder with {@link #copying}
     * linear layers (the host's part of a device path in FP32), then the {@link #probe device probe}, then passes with
     * each of its linear layers replaced by {@code linears} (the device path warms its own kernels this way; the
     * replacement runs on the warm-up thread), and {@code after} run on that thread when it ends (to unload what
     * {@code linears} loaded). {@link #close} ends the host passes and the device passes, not the probe: it waits for it.
     */
    public static EncoderWarmUp start(UnaryOperator<Linear> linears, Runnable after) {
        if (!WarmUps.enabled()) return null;
        return new EncoderWarmUp(java.util.Objects.requireNonNull(linears), after);
    }

    /**
     * Ends the warm-up after the layer it is running (not the whole pass: a pass still in the interpreter took up to
     * 0.4 s, BENCHMARKS.md §1b, sixth pass), after the device probe if it is still to come, and waits for it: called
     * before the real batches, so the tiny model takes no CPU from them.
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
        BertEncoder tiny = tiny();
        SplittableRandom rnd = new SplittableRandom(2);
        if (linears == null) {
            forwards(tiny.mapLinears(this::stoppable), batch(rnd, LENGTHS), FORWARDS, end);
            return;
        }
        forwards(tiny.mapLinears(l -> stoppable(copying(l))), batch(rnd, HOST_LENGTHS), HOST_FORWARDS, end);
        probe(linears);
        forwards(tiny.mapLinears(l -> stop ? l : stoppable(linears.apply(l))), batch(rnd, LENGTHS), FORWARDS, end);
    }

    /**
     * Gets the device's kernels compiled by C2 before the real batches: calls of one small device layer
     * ({@link #PROBE_TOKENS} x {@link #PROBE_IN} -> {@link #PROBE_OUT}), {@link #PROBE_CALLS} of them or
     * {@link #PROBE_MAX_NANOS}, whichever ends first. C2 compiles a kernel after so many invocations, and until then
     * every invocation runs in the interpreter or C1, where the Vector API is hundreds to thousands of times slower; the
     * real layers make those invocations with tiles of 6 tokens x 128 outputs over all their inputs, 13-174 ms apiece
     * there, so the first layer of a fresh {@code qbridge run} took 0.7-1.5 s against 6-10 ms warm, while these calls
     * take 5-30 ms. Run after the host passes, not before: device kernels queued for C2 first had attention compiled
     * seconds late (BENCHMARKS.md §1b, ninth and tenth passes). {@link #close} does not end it, so the real batches
     * start with the kernels compiled.
     */
    private static void probe(UnaryOperator<Linear> linears) {
        SplittableRandom rnd = new SplittableRandom(3);
        Linear layer = linears.apply(linear(rnd, "warm-up.probe", PROBE_IN, PROBE_OUT));
        float[] x = SyntheticWeights.small(rnd, PROBE_TOKENS * PROBE_IN), y = new float[PROBE_TOKENS * PROBE_OUT];
        long end = System.nanoTime() + PROBE_MAX_NANOS;
        for (int i = 0; i < PROBE_CALLS && System.nanoTime() < end; i++) layer.forward(x, PROBE_TOKENS, y);
    }

    /** {@code layer}, ending the warm-up from inside a pass once {@link #close} has been called: it waits for one layer, not a pass. */
    private Linear stoppable(Linear layer) {
        return new ForwardingLinear(layer) {
            @Override
            public void forward(float[] x, int rows, float[] y) {
                if (stop) throw STOPPED;
                inner.forward(x, rows, y);
            }
        };
    }

    /**
     * {@code layer} copying its inputs to its outputs instead of multiplying: on a device path the host runs an
     * encoder's attention, LayerNorm and GELU but never a linear layer, so its passes need not have C2 compile the FP32
     * tile (0.7 CPU-s of C2 in a fresh {@code qbridge run}, for code the run never calls; BENCHMARKS.md §1b, seventh pass).
     */
    private static Linear copying(Linear layer) {
        return new ForwardingLinear(layer) {
            @Override
            public void forward(float[] x, int rows, float[] y) {
                int in = inFeatures(), out = outFeatures();
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < out; j++) y[r * out + j] = x[r * in + j % in];
            }
        };
    }

    /** How a warm-up layer ends its pass after {@link #close} (caught by {@link #forwards}). */
    private static final RuntimeException STOPPED = new RuntimeException("warm-up stopped", null, false, false) {};

    private static List<int[]> batch(SplittableRandom rnd, int[] lengths) {
        List<int[]> batch = new ArrayList<>();
        for (int len : lengths) {
            int[] ids = new int[len];
            for (int i = 0; i < len; i++) ids[i] = rnd.nextInt(TINY_VOCAB);
            batch.add(ids);
        }
        return batch;
    }

    /** {@code count} passes of {@code enc}; fewer at {@code end}, or once {@link #close} is asked for (within a layer). */
    private void forwards(BertEncoder enc, List<int[]> batch, int count, long end) {
        try {
            for (int i = 0; i < count && !stop && System.nanoTime() < end; i++) {
                BertEncoder.pool(enc.forward(batch), i % 2 == 0 ? Pooling.MEAN : Pooling.CLS);
            }
        } catch (RuntimeException e) {
            if (e != STOPPED) throw e;
        }
    }

    /** The tiny encoder's vocabulary: the warm-up's token ids are drawn below it. */
    private static final int TINY_VOCAB = 128;

    /**
     * A random one-layer encoder: hidden 128 (4 heads of 32, the real models' head size), intermediate 512, 128
     * tokens, 64 positions; 128 columns so that every format's blocks and groups fit.
     */
    static BertEncoder tiny() {
        BertConfig c = new BertConfig(TINY_VOCAB, 128, 1, 4, 512, 64, 2, 1e-12f);
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
        return DenseLinear.inOut(name + ".weight", SyntheticWeights.withOutliers(rnd, in * out), in, out, SyntheticWeights.small(rnd, out));
    }
}
