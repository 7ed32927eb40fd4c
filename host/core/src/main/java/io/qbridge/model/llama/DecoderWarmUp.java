package io.qbridge.model.llama;

import io.qbridge.model.SyntheticWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * JIT warm-up for a process that is about to decode: a daemon thread runs a tiny random decoder (dim 64, two
 * layers, vocabulary 256) through the same code as a real one ({@link LlamaDecoder#forward}: the FP32 matrix-vector
 * kernel, norms, RoPE, attention) while the real checkpoint loads, so C2 has compiled those loops before the first
 * real token. Without it the first token of a fresh {@code generate} on the 42M checkpoint took ~0.8 s (the
 * Vector API runs interpreted until C2 compiles it) and the next few dozen 2-3x their steady time. Only speed:
 * the tiny model's outputs are discarded. {@code -Dqbridge.warmup=false} turns it off (benchmarks compare both).
 */
public final class DecoderWarmUp {
    /** Forward passes of the tiny model; at most {@link #MAX_NANOS} in all. */
    private static final int FORWARDS = 400;
    private static final long MAX_NANOS = 1_500_000_000L;

    private DecoderWarmUp() {}

    /** Starts the warm-up thread, or returns null when {@code qbridge.warmup} is false. */
    public static Thread start() {
        if (!Boolean.parseBoolean(System.getProperty("qbridge.warmup", "true"))) return null;
        Thread t = new Thread(DecoderWarmUp::run, "qbridge-decoder-warm-up");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Waits for a thread from {@link #start} (null: returns at once). */
    public static void await(Thread t) {
        if (t == null) return;
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void run() {
        long end = System.nanoTime() + MAX_NANOS;
        LlamaConfig c = LlamaConfig.llama2c(64, 176, 2, 4, 2, 256, 64, true);
        LlamaDecoder d = new LlamaDecoder(tiny(c));
        int token = 1;
        for (int i = 0; i < FORWARDS && System.nanoTime() < end; i++) {
            float[] logits = d.forward(token, i % c.seqLen());
            token = Sampler.argmax(logits, logits.length);
        }
    }

    private static LlamaWeights tiny(LlamaConfig c) {
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
