package io.qbridge.model.llama;

import java.util.Arrays;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * llama2.c's generation loop on token ids: feed the prompt one position at a time, then feed back sampled
 * tokens; stop after {@code steps} positions (prompt included) or when the sampler picks BOS, which
 * llama2.c treats as the start of another sequence. Speed is counted as run.c counts it: the clock starts
 * after the first position and the rate is {@code (positions - 1) / elapsed}. The prompt can also go through the
 * decoder's batched path ({@link #generateWithBatchedPrompt}), with the same tokens.
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
        return run(prompt, steps, onToken, false);
    }

    /**
     * Like {@link #generate}, with the same tokens, but the prompt goes through {@link LlamaDecoder#forwardPrompt}
     * in one call. The clock then starts after the prompt, so the rate counts the positions decoded one at a time.
     */
    public Result generateWithBatchedPrompt(int[] prompt, int steps, IntConsumer onToken) {
        return run(prompt, steps, onToken, true);
    }

    private Result run(int[] prompt, int steps, IntConsumer onToken, boolean batchedPrompt) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt needs at least one token (BOS)");
        if (steps <= 0 || steps > decoder.maxSeqLen()) steps = decoder.maxSeqLen();
        int bos = decoder.config().bosTokenId();
        int[] tokens = new int[steps + 1];
        int count = 0;
        int token = prompt[0];
        tokens[count++] = token;
        long start = 0;
        int untimed = 1; // run.c: the first position is slower (warm-up) and not timed
        int pos = 0;
        float[] logits = null;
        if (batchedPrompt && prompt.length > 1 && steps > 1) {
            // Positions 0..p-1 in one call. The loop below then starts at position p-1 with its logits in hand;
            // positions before it forced the prompt's next tokens, emitted here as the loop would have.
            int p = Math.min(prompt.length, steps);
            logits = decoder.forwardPrompt(Arrays.copyOf(prompt, p), 0);
            for (int i = 1; i < p; i++) {
                if (prompt[i] == bos) return new Result(Arrays.copyOf(tokens, count), i, Double.NaN);
                onToken.accept(prompt[i]);
                tokens[count++] = prompt[i];
            }
            token = prompt[p - 1];
            pos = p - 1;
            untimed = p;
            start = System.nanoTime();
        }
        while (pos < steps) {
            if (logits == null) logits = decoder.forward(token, pos);
            int next = pos < prompt.length - 1 ? prompt[pos + 1] : sampler.sample(logits);
            logits = null;
            pos++;
            if (next == bos) break;
            onToken.accept(next);
            tokens[count++] = next;
            token = next;
            if (start == 0) start = System.nanoTime();
        }
        double rate = Double.NaN;
        if (pos > untimed && start != 0) rate = (pos - untimed) / ((System.nanoTime() - start) / 1e9);
        return new Result(Arrays.copyOf(tokens, count), pos, rate);
    }
}
