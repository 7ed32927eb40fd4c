package io.qbridge.model.llama;

import io.qbridge.model.SyntheticWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * JIT warm-up for a process that is about to decode: a daemon thread runs a tiny random decoder (dim 128, two
 * layers, vocabulary 256) through the same code as a real one ({@link LlamaDecoder#forward}: the matrix-vector
 * products, norms, RoPE, attention) while the real checkpoint loads, so C2 has compiled those loops before the first
 * real token. Without it the first token of a fresh {@code generate} on the 42M checkpoint took ~0.8 s (the
 * Vector API runs interpreted until C2 compiles it) and the next few dozen 2-3x their steady time. A device path
 * places the tiny model's linear layers on its device ({@link #start(UnaryOperator, Runnable)}), so its own kernels
 * are the ones compiled. Only speed: the tiny model's outputs are discarded. {@code -Dqbridge.warmup=false} turns
 * it off (benchmarks compare both).
 */
public final class DecoderWarmUp implements AutoCloseable {
    /**
     * Forward passes of the tiny model on the host path before the real model may start. A device path passes its own
     * count ({@link #start(UnaryOperator, Runnable, int)}).
     */
    public static final int HOST_FORWARDS = 400;
    /**
     * After its passes, while the real model still loads, the warm-up runs one pass every this many milliseconds: the
     * C2 compiler works through a queue, and a long load (a MicroScopiQ quantization) keeps it busy, so the tiny
     * model's methods were still waiting for C2 when 1000 passes had ended, and stopped being called, and compiled
     * only during the first real tokens (JIT logs). A pass every 2 ms keeps them called for a few per cent of a core.
     */
    private static final long IDLE_PASS_MILLIS = 2;
    private static final long MAX_NANOS = 10_000_000_000L;

    private final Thread thread;
    private final int forwards;
    private volatile boolean stop, ready;

    private DecoderWarmUp(UnaryOperator<LlamaWeights> place, Runnable after, int forwards) {
        this.forwards = forwards;
        thread = new Thread(() -> {
            try {
                run(place.apply(tiny()));
            } catch (RuntimeException e) {
                // only speed: a tiny layer a device cannot take ends the warm-up, never the command
            } finally {
                after.run();
            }
        }, "qbridge-decoder-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts the warm-up thread on the FP32 host path, or returns null when {@code qbridge.warmup} is false. */
    public static DecoderWarmUp start() {
        return start(UnaryOperator.identity(), () -> {}, HOST_FORWARDS);
    }

    /**
     * As {@link #start()}, with the tiny decoder's weights placed by {@code place} first (a device path puts its
     * linear layers on a device; it runs on the warm-up thread), {@code forwards} passes, and {@code after} run on
     * that thread when the warm-up ends (to unload what {@code place} loaded).
     */
    public static DecoderWarmUp start(UnaryOperator<LlamaWeights> place, Runnable after, int forwards) {
        if (!Boolean.parseBoolean(System.getProperty("qbridge.warmup", "true"))) return null;
        return new DecoderWarmUp(place, after, forwards);
    }

    /**
     * The real model is ready: waits for the warm-up to finish its passes and end, so that the tiny model takes no CPU
     * from the real tokens.
     */
    public void await() {
        ready = true;
        join();
    }

    /** Ends the warm-up after its current forward pass and waits for it (a command that failed or finished). */
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
        long start = System.nanoTime();
        LlamaConfig c = w.config();
        LlamaDecoder d = new LlamaDecoder(w);
        int token = 1;
        for (int i = 0; !stop && !(ready && i >= forwards) && System.nanoTime() - start < MAX_NANOS; i++) {
            float[] logits = d.forward(token, i % c.seqLen());
            token = Sampler.argmax(logits, logits.length);
            if (i >= forwards) {
                try {
                    Thread.sleep(IDLE_PASS_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /**
     * A random decoder shaped so that its calls take the branches a real model's take (a branch the warm-up never
     * took is compiled as a trap, and the trap throws the compiled code away at the real model's first token): dim 128
     * (a multiple of every format's blocks and groups) in two heads of 64 (the real models' head size, 64 or 128:
     * attention's 4-vector loops run), hidden 384, two layers, a vocabulary of 4096 (a classifier wide enough that
     * its products fan out over the thread team), 64 positions, the classifier the embedding table.
     */
    public static LlamaWeights tiny() {
        LlamaConfig c = LlamaConfig.llama2c(128, 384, 2, 2, 2, 4096, 64, true);
        SplittableRandom rnd = new SplittableRandom(1);
        int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim();
        float[] embedding = SyntheticWeights.small(rnd, c.vocabSize() * dim);
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            layers.add(LlamaWeights.denseLayer(c, l, SyntheticWeights.ones(dim), SyntheticWeights.small(rnd, (dim + 2 * kv) * dim), SyntheticWeights.small(rnd, dim * dim), SyntheticWeights.ones(dim),
                    SyntheticWeights.small(rnd, 2 * hidden * dim), SyntheticWeights.small(rnd, dim * hidden)));
        }
        return new LlamaWeights(c, embedding, layers, SyntheticWeights.ones(dim), LlamaWeights.dense("wcls", embedding, 0, dim, c.vocabSize()));
    }
}
