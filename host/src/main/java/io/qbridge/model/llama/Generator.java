package io.qbridge.model.llama;

import java.util.Arrays;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * llama2.c's generation loop on token ids: feed the prompt one position at a time, then feed back sampled
 * tokens; stop after {@code steps} positions (prompt included) or when the sampler picks BOS, which
 * llama2.c treats as the start of another sequence. Speed is counted as run.c counts it: the clock starts
 * after the first position and the rate is {@code (positions - 1) / elapsed}.
 */
public final class Generator {
    /**
     * @param tokens          every token fed or emitted: the first prompt token, then each next token
     *                        (the stopping BOS excluded)
     * @param positions       forward passes run
     * @param tokensPerSecond run.c's "achieved tok/s", or NaN when fewer than two positions ran
     */
    public record Result(int[] tokens, int positions, double tokensPerSecond) {}

    private final LlamaDecoder decoder;
    private final Sampler sampler;

    public Generator(LlamaDecoder decoder, Sampler sampler) {
        this.decoder = Objects.requireNonNull(decoder);
        this.sampler = Objects.requireNonNull(sampler);
    }

    /**
     * Runs up to {@code steps} positions (0 or more than the cache holds: as many as it holds), passing each
     * next token to {@code onToken} as soon as it is known (forced prompt tokens included, like run.c prints them).
     */
    public Result generate(int[] prompt, int steps, IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt needs at least one token (BOS)");
        if (steps <= 0 || steps > decoder.maxSeqLen()) steps = decoder.maxSeqLen();
        int bos = decoder.config().bosTokenId();
        int[] tokens = new int[steps + 1];
        int count = 0;
        int token = prompt[0];
        tokens[count++] = token;
        long start = 0;
        int pos = 0;
        while (pos < steps) {
            float[] logits = decoder.forward(token, pos);
            int next = pos < prompt.length - 1 ? prompt[pos + 1] : sampler.sample(logits);
            pos++;
            if (next == bos) break;
            onToken.accept(next);
            tokens[count++] = next;
            token = next;
            if (start == 0) start = System.nanoTime(); // the first position is slower (warm-up): not timed
        }
        double rate = Double.NaN;
        if (pos > 1 && start != 0) rate = (pos - 1) / ((System.nanoTime() - start) / 1e9);
        return new Result(Arrays.copyOf(tokens, count), pos, rate);
    }
}
