package io.qbridge.model.llama;

import io.qbridge.model.SyntheticWeights;
import io.qbridge.model.WarmUps;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * JIT warm-up for a process that is about to decode: a daemon thread runs a tiny random decoder ({@link #tiny()})
 * through the same code as a real one ({@link LlamaDecoder#forward}: the matrix-vector products, norms, RoPE,
 * attention) while the real checkpoint loads, so C2 has compiled those loops before the first real token. Without it
 * the first token of a fresh {@code generate} on the 42M checkpoint took ~0.8 s (the Vector API runs interpreted until
 * C2 compiles it) and the next few dozen 2-3x their steady time. A device path places the tiny model's linear layers
 * on a device ({@link #start(UnaryOperator, Runnable, int)}), so its own kernels are the ones compiled. Only speed: the
 * tiny model's outputs are discarded. {@code -Dqbridge.warmup=false} turns it off (benchmarks compare both).
 */
public final class DecoderWarmUp implements AutoCloseable {
    /**
     * Forward passes of the tiny model on the host path before the real model may start (at most {@link #PASSES_NANOS}).
     * A device path passes its own count.
     */
    public static final int HOST_FORWARDS = 400;
    /** The longest the required passes may hold up a real model that is ready (a loaded machine). */
    private static final long PASSES_NANOS = 3_000_000_000L;
    /**
     * After its passes, while the real model still loads, the warm-up runs one pass every this many milliseconds, at
     * most until {@link #MAX_NANOS}. C2 works through a queue, and a long load (a MicroScopiQ quantization) keeps it
     * busy: the tiny model's methods were still queued when its passes ended, and HotSpot drops a queued compilation
     * whose method goes uncalled for {@code TieredCompileTaskTimeout} (50 ms), so they were compiled only during the
     * first real tokens (PrintCompilation). Below that timeout, and above the thread team's 2 ms of spinning after a
     * job, so that its workers park between passes.
     */
    private static final long IDLE_PASS_MILLIS = 10;
    private static final long MAX_NANOS = 10_000_000_000L;

    private final Thread thread;
    private final int forwards;
    private final long start = System.nanoTime();
    private volatile boolean stop, ready;

    private DecoderWarmUp(UnaryOperator<LlamaWeights> place, Runnable after, int forwards) {
        this.forwards = forwards;
        thread = new Thread(() -> {
            try {
                LlamaWeights w = tiny();
                LlamaWeights placed;
                try {
                    placed = place.apply(w);
                } catch (RuntimeException e) {
                    placed = w; // a layer the device cannot take: the host path is still worth compiling
                }
                run(placed);
            } catch (RuntimeException e) {
                // only speed: a failing pass ends the warm-up, never the command
            } finally {
                after.run();
            }
        }, "qbridge-decoder-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts the warm-up thread on the FP32 host path, or returns null when warm-ups are off ({@link WarmUps#enabled}). */
    public static DecoderWarmUp start() {
        return start(UnaryOperator.identity(), () -> {}, HOST_FORWARDS);
    }

    /**
     * As {@link #start()}, with the tiny decoder's weights placed by {@code place} first (a device path puts its
     * linear layers on a device; it runs on the warm-up thread, and if it throws, the warm-up runs the host path),
     * {@code forwards} passes, and {@code after} run on that thread when the warm-up ends (to release what
     * {@code place} took). Null, and {@code after} never run, when warm-ups are off.
     */
    public static DecoderWarmUp start(UnaryOperator<LlamaWeights> place, Runnable after, int forwards) {
        return WarmUps.enabled() ? new DecoderWarmUp(place, after, forwards) : null;
    }

    /**
     * The real model is ready: waits for the warm-up to finish its passes and end, so that the tiny model takes no CPU
     * from the real tokens.
     */
    public void await() {
        ready = true;
        join();
    }

    /** Ends the warm-up after its current pass and waits for it (a command that failed or finished). */
    @Override
    public void close() {
        stop = true;
        join();
    }

    private void join() {
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run(LlamaWeights w) {
        LlamaConfig c = w.config();
        LlamaDecoder d = new LlamaDecoder(w);
        int token = 1;
        for (int i = 0; !stop; i++) {
            long t = System.nanoTime() - start;
            boolean passes = i < forwards && t < PASSES_NANOS;
            if (!passes && (ready || t > MAX_NANOS)) break;
            if (!passes) {
                try {
                    Thread.sleep(IDLE_PASS_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
            float[] logits = d.forward(token, i % c.seqLen());
            token = Sampler.argmax(logits, logits.length);
        }
    }

    /**
     * A random decoder shaped so that its calls take the branches a real model's take (a branch the warm-up never
     * took is compiled as a trap, and the trap throws the compiled code away at the real model's first token): dim 128
     * (a multiple of every format's blocks and groups) in two heads of 64 (the real models' head size, 64 or 128:
     * attention's 4-vector loops run) sharing one key/value head (grouped-query attention, as the 42M checkpoint's 8
     * heads share 4), hidden 384, two layers, a vocabulary of 4096 (a classifier wide enough that its products fan out
     * over the thread team), 320 positions (past 256 its attention fans out over the team as a real model's does past
     * a few dozen), the classifier the embedding table, and weights with outliers ({@link SyntheticWeights#withOutliers}).
     */
    public static LlamaWeights tiny() {
        LlamaConfig c = LlamaConfig.llama2c(128, 384, 2, 2, 1, 4096, 320, true);
        SplittableRandom rnd = new SplittableRandom(1);
        int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim();
        float[] embedding = SyntheticWeights.withOutliers(rnd, c.vocabSize() * dim);
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            layers.add(LlamaWeights.denseLayer(c, l, SyntheticWeights.ones(dim), SyntheticWeights.withOutliers(rnd, (dim + 2 * kv) * dim), SyntheticWeights.withOutliers(rnd, dim * dim), SyntheticWeights.ones(dim),
                    SyntheticWeights.withOutliers(rnd, 2 * hidden * dim), SyntheticWeights.withOutliers(rnd, dim * hidden)));
        }
        return new LlamaWeights(c, embedding, layers, SyntheticWeights.ones(dim), LlamaWeights.dense("wcls", embedding, 0, dim, c.vocabSize()));
    }
}
