package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** run.c's generation loop: steps count the prompt, sampling BOS stops, each next token is streamed. */
class GeneratorTest {
    @TempDir
    Path tmp;

    private LlamaWeights load(TinyLlama model) throws IOException {
        Path bin = tmp.resolve("m" + System.nanoTime() + ".bin");
        model.writeLlama2c(bin);
        return Llama2cCheckpoint.load(bin);
    }

    @Test
    void stepsCountPromptPositions() throws IOException {
        LlamaWeights w = load(new TinyLlama(TinyLlama.smallConfig(true), 21));
        int[] prompt = {1, 10, 11, 12, 13, 14};
        List<Integer> streamed = new ArrayList<>();
        Generator.Result r = new Generator(new LlamaDecoder(w), Sampler.greedy(67)).generate(prompt, 4, streamed::add);
        assertEquals(4, r.positions());
        assertArrayEquals(new int[] {1, 10, 11, 12, 13}, r.tokens());
        assertEquals(List.of(10, 11, 12, 13), streamed);
        assertTrue(r.tokensPerSecond() > 0 && Double.isFinite(r.tokensPerSecond()));
    }

    @Test
    void stepsBeyondTheCacheStopAtItsEnd() throws IOException {
        LlamaWeights w = load(new TinyLlama(TinyLlama.smallConfig(true), 22));
        int[] prompt = {1, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
        Generator.Result r = new Generator(new LlamaDecoder(w, 10), Sampler.greedy(67)).generate(prompt, 100, t -> {});
        assertEquals(10, r.positions());
        assertArrayEquals(Arrays.copyOf(prompt, 11), r.tokens());
        Generator.Result one = new Generator(new LlamaDecoder(w, 10), Sampler.greedy(67)).generate(prompt, 1, t -> {});
        assertEquals(1, one.positions());
        assertTrue(Double.isNaN(one.tokensPerSecond()), "no rate from a single position");
    }

    /** With the final norm zeroed every logit is 0, so greedy picks id 0; with BOS = 0 that ends the run. */
    @Test
    void samplingBosStops() throws IOException {
        LlamaConfig c = new LlamaConfig(32, 40, 2, 4, 2, 67, 24, 10000f, 1e-5f, true, 0, 2);
        TinyLlama model = new TinyLlama(c, 23);
        Arrays.fill(model.finalNorm, 0f);
        LlamaWeights loaded = load(model); // llama2.c files always mean BOS = 1: swap in the config with BOS = 0
        LlamaWeights w = new LlamaWeights(c, loaded.tokenEmbedding(), loaded.layers(), loaded.finalNorm(), loaded.classifier());
        List<Integer> streamed = new ArrayList<>();
        Generator.Result r = new Generator(new LlamaDecoder(w), Sampler.greedy(67)).generate(new int[] {5, 6}, 20, streamed::add);
        assertEquals(2, r.positions(), "position 0 forces 6, position 1 samples BOS and stops");
        assertArrayEquals(new int[] {5, 6}, r.tokens());
        assertEquals(List.of(6), streamed);
    }

    /** Greedy decoding continues with the argmax of the decoder's own logits. */
    @Test
    void greedyFollowsTheArgmax() throws IOException {
        LlamaWeights w = load(new TinyLlama(TinyLlama.smallConfig(true), 24));
        Generator.Result r = new Generator(new LlamaDecoder(w), Sampler.greedy(67)).generate(new int[] {1, 3}, 12, t -> {});
        LlamaDecoder d = new LlamaDecoder(w);
        int[] tokens = r.tokens();
        for (int pos = 0; pos + 1 < tokens.length; pos++) {
            float[] logits = d.forward(tokens[pos], pos);
            if (pos >= 1) assertEquals(Sampler.argmax(logits, 67), tokens[pos + 1], "token after position " + pos);
        }
    }

    /** The batched prompt gives the run.c loop's tokens and stream, whether the steps end inside the prompt or after it. */
    @Test
    void batchedPromptGivesTheSameTokens() throws IOException {
        LlamaWeights w = load(new TinyLlama(TinyLlama.smallConfig(false), 25));
        int[] prompt = {1, 10, 20, 30, 40, 50, 60};
        for (int steps : new int[] {1, 2, 4, 7, 8, 20}) {
            List<Integer> s1 = new ArrayList<>(), s2 = new ArrayList<>();
            Generator.Result a = new Generator(new LlamaDecoder(w), Sampler.greedy(67)).generate(prompt, steps, s1::add);
            Generator.Result b = new Generator(new LlamaDecoder(w), Sampler.greedy(67)).generateWithBatchedPrompt(prompt, steps, s2::add);
            assertArrayEquals(a.tokens(), b.tokens(), "steps " + steps);
            assertEquals(a.positions(), b.positions(), "steps " + steps);
            assertEquals(s1, s2, "steps " + steps);
        }
    }
}
