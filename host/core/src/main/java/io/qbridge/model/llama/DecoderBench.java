package io.qbridge.model.llama;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Decoding speed on a llama2.c checkpoint, counted as {@code run.c} counts it, for side-by-side runs with
 * {@code run -t 0 -n STEPS -i "Once upon a time"}: greedy sampling after the same prompt ids, one position
 * at a time. Threads: {@code -Dqbridge.threads=N}.
 *
 * <p>Usage: {@code DecoderBench CHECKPOINT STEPS [WARMUP_STEPS]}, CHECKPOINT a llama2.c {@code .bin} or a Hugging
 * Face directory. The JIT compiles during a warm-up
 * generation first (default 32 positions, 0 to skip); its rate is printed too.
 */
public final class DecoderBench {
    /** "Once upon a time" as run.c encodes it with the LLaMA-2 tokenizer: BOS, then the pieces. */
    static final int[] ONCE_UPON_A_TIME = {1, 9038, 2501, 263, 931};

    private DecoderBench() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: DecoderBench CHECKPOINT STEPS [WARMUP_STEPS]");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        int steps = Integer.parseInt(args[1]);
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        long t0 = System.nanoTime();
        LlamaWeights weights = java.nio.file.Files.isDirectory(file) ? HfCheckpoint.load(file) : Llama2cCheckpoint.load(file);
        LlamaConfig c = weights.config();
        System.out.printf("loaded %s in %.2f s: %s%n", file, (System.nanoTime() - t0) / 1e9, c);
        int[] prompt = c.vocabSize() > 9038 ? ONCE_UPON_A_TIME : new int[] {c.bosTokenId()};
        LlamaDecoder decoder = new LlamaDecoder(weights);
        if (warmup > 0) {
            Generator.Result w = new Generator(decoder, Sampler.greedy(c.vocabSize())).generate(prompt, warmup, t -> {});
            System.out.printf("warm-up: %d positions, %.2f tok/s%n", w.positions(), w.tokensPerSecond());
        }
        Generator.Result r = new Generator(decoder, Sampler.greedy(c.vocabSize())).generate(prompt, steps, t -> {});
        System.out.printf("threads=%d positions=%d achieved tok/s: %f%n", io.qbridge.compute.Parallel.threads(), r.positions(),
                r.tokensPerSecond());
        // The batched prompt path, for reference: the first generated tokens fed back as one prompt.
        int[] batch = java.util.Arrays.copyOf(r.tokens(), Math.min(r.tokens().length, 128));
        long b0 = System.nanoTime();
        new LlamaDecoder(weights).forwardPrompt(batch, 0);
        System.out.printf("batched prompt of %d positions: %.1f tok/s%n", batch.length, batch.length / ((System.nanoTime() - b0) / 1e9));
    }
}
