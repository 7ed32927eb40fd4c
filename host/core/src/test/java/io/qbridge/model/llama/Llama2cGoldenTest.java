package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Our decoder against llama2.c's run.c on the shared reference runs: every position's logits within 1e-4
 * and the greedy ids exactly, position by position and through the batched prompt path.
 */
class Llama2cGoldenTest {
    private static final float TOLERANCE = 1e-4f;

    /** One reference run: the tokens fed at each position and the logits run.c produced there. */
    private record Run(LlamaWeights weights, int[] prompt, int[] ids, int[] fed, float[][] logits) {
        static Run load(String name) throws IOException {
            Path dir = GoldenFiles.dir();
            LlamaWeights w = Llama2cCheckpoint.load(dir.resolve(name + ".bin"));
            int[] prompt = GoldenFiles.ids(dir.resolve(name + ".prompt_ids.txt"));
            int[] ids = GoldenFiles.ids(dir.resolve(name + ".ids.txt"));
            float[][] logits = GoldenFiles.logits(dir.resolve(name + ".logits.f32"), w.config().vocabSize());
            // Position 0 gets the first prompt token; position p > 0 gets line p - 1 of the ids file.
            int[] fed = new int[logits.length];
            fed[0] = prompt[0];
            System.arraycopy(ids, 0, fed, 1, logits.length - 1);
            return new Run(w, prompt, ids, fed, logits);
        }
    }

    @ParameterizedTest(name = "{0} fused={2}")
    @CsvSource({"synth-a,24,true", "synth-a,24,false", "stories260K,48,true", "stories260K,48,false"})
    void everyPositionMatchesRunC(String name, int positions, boolean fused) throws IOException {
        Run run = Run.load(name);
        assertEquals(positions, run.logits.length, "reference rows");
        LlamaWeights weights = fused ? run.weights : run.weights.withoutFusedViews();
        LlamaDecoder decoder = new LlamaDecoder(weights);
        int vocab = weights.config().vocabSize();
        int[] greedy = new int[positions];
        for (int pos = 0; pos < positions; pos++) {
            float[] logits = decoder.forward(run.fed[pos], pos);
            assertClose(run.logits[pos], logits, name + " position " + pos);
            // While the prompt lasts the ids file holds the next prompt token; after it, the argmax.
            greedy[pos] = pos < run.prompt.length - 1 ? run.prompt[pos + 1] : Sampler.argmax(logits, vocab);
        }
        assertArrayEquals(run.ids, greedy, name + " greedy ids");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"synth-a", "stories260K"})
    void generatorReproducesGreedyIds(String name) throws IOException {
        Run run = Run.load(name);
        LlamaDecoder decoder = new LlamaDecoder(run.weights);
        StringBuilder streamed = new StringBuilder();
        Generator.Result r = new Generator(decoder, Sampler.greedy(run.weights.config().vocabSize()))
                .generate(run.prompt, run.logits.length, t -> streamed.append(t).append(' '));
        assertEquals(run.logits.length, r.positions());
        int[] expected = new int[run.logits.length + 1];
        expected[0] = run.prompt[0];
        System.arraycopy(run.ids, 0, expected, 1, run.logits.length);
        assertArrayEquals(expected, r.tokens());
        assertEquals(Arrays.stream(run.ids).mapToObj(Integer::toString).reduce((a, b) -> a + " " + b).orElseThrow(),
                streamed.toString().trim(), "streamed ids");
    }

    /**
     * The batched prompt path: the prompt in one call, then split into two calls at every cut, each compared
     * with the reference at the last position; decoding then continues one position at a time from the cache
     * the batched calls filled.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"synth-a,10", "stories260K,20"})
    void batchedPromptMatchesRunC(String name, int promptLength) throws IOException {
        Run run = Run.load(name);
        int[] prompt = Arrays.copyOf(run.fed, promptLength);
        LlamaDecoder decoder = new LlamaDecoder(run.weights);
        assertClose(run.logits[promptLength - 1], decoder.forwardPrompt(prompt, 0), name + " whole prompt");
        for (int pos = promptLength; pos < run.logits.length; pos++) {
            assertClose(run.logits[pos], decoder.forward(run.fed[pos], pos), name + " decoding after the batch, position " + pos);
        }
        for (int cut = 1; cut < promptLength; cut += 3) {
            LlamaDecoder d = new LlamaDecoder(run.weights);
            assertClose(run.logits[cut - 1], d.forwardPrompt(Arrays.copyOf(prompt, cut), 0), name + " first part up to " + cut);
            assertClose(run.logits[promptLength - 1], d.forwardPrompt(Arrays.copyOfRange(prompt, cut, promptLength), cut),
                    name + " second part from " + cut);
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= TOLERANCE)) {
                fail(what + ": logit " + i + " is " + actual[i] + ", run.c " + expected[i]);
            }
        }
    }
}
