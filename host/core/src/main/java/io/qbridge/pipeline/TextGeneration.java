package io.qbridge.pipeline;

import io.qbridge.model.llama.Generator;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.Sampler;
import io.qbridge.tokenizer.TextTokenizer;
import io.qbridge.tokenizer.Utf8StreamDecoder;
import java.util.function.Consumer;

/**
 * Text from a decoder and its tokenizer, as llama2.c's {@code run} prints it: the prompt encoded with BOS, the
 * {@link Generator} loop, each token's bytes decoded as a UTF-8 stream. {@code qbridge generate} and the
 * server's generate job both call this, so a remote text is the local one token for token.
 */
public final class TextGeneration {
    private TextGeneration() {}

    /**
     * @param tokens          every token fed or emitted ({@link Generator.Result#tokens})
     * @param text            everything {@code onText} was given, the decoder's tail included
     * @param positions       forward passes run
     * @param tokensPerSecond llama2.c's achieved tok/s (NaN with fewer than two positions)
     */
    public record Result(int[] tokens, String text, int positions, double tokensPerSecond) {}

    /**
     * Generates up to {@code steps} positions (prompt included; 0 = the model's sequence length) with a sampler of
     * {@code temperature} (0 = greedy), {@code topp} and {@code seed}; {@code onText} gets the text as it comes
     * (a piece per token, possibly empty while a UTF-8 sequence is incomplete, and the tail at the end).
     */
    public static Result generate(LlamaWeights w, TextTokenizer tok, String prompt, int steps, float temperature, float topp, long seed, Consumer<String> onText) {
        LlamaDecoder decoder = new LlamaDecoder(w);
        int[] ids = tok.encode(prompt, true, false);
        Sampler sampler = new Sampler(w.config().vocabSize(), temperature, topp, seed);
        Utf8StreamDecoder utf8 = new Utf8StreamDecoder();
        StringBuilder text = new StringBuilder();
        int[] prev = {ids[0]};
        Generator.Result r = new Generator(decoder, sampler).generate(ids, steps, next -> {
            String piece = utf8.feed(tok.decodeBytes(prev[0], next));
            text.append(piece);
            onText.accept(piece);
            prev[0] = next;
        });
        String tail = utf8.finish();
        text.append(tail);
        onText.accept(tail);
        return new Result(r.tokens(), text.toString(), r.positions(), r.tokensPerSecond());
    }
}
