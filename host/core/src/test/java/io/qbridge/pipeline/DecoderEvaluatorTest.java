package io.qbridge.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Perplexity on the real TinyStories 260K checkpoint, checked against the logits llama2.c's run.c produced. */
class DecoderEvaluatorTest {
    private static Path golden;
    private static LlamaWeights weights;
    private static int[] ids;

    @BeforeAll
    static void load() throws Exception {
        golden = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c");
        if (!Files.isDirectory(golden)) return;
        weights = Llama2cCheckpoint.load(golden.resolve("stories260K.bin"));
        ids = Files.readAllLines(golden.resolve("stories260K.ids.txt")).stream().filter(s -> !s.isBlank()).mapToInt(s -> Integer.parseInt(s.strip())).toArray();
    }

    private static void requireShared() {
        assumeTrue(Files.isDirectory(golden), "shared/golden/llama2c is absent (a user's clone): skipping");
    }

    @Test
    void fp32PerplexityEqualsTheOneFromLlama2cLogits() throws Exception {
        requireShared();
        int vocab = weights.config().vocabSize();
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(golden.resolve("stories260K.logits.f32"))).order(ByteOrder.LITTLE_ENDIAN);
        float[] row = new float[vocab];
        double nll = 0;
        for (int p = 0; p < ids.length; p++) {
            b.asFloatBuffer().position(p * vocab).get(row);
            nll -= DecoderEvaluator.logSoftmax(row, ids[p]);
        }
        double expected = Math.exp(nll / ids.length);
        double ours = DecoderEvaluator.perplexity(new LlamaDecoder(weights, 64), 1, ids, 64);
        assertEquals(expected, ours, 1e-4 * expected);
        // windows restart from BOS, so a short window sees less context and can only do worse on this text
        double shortWindows = DecoderEvaluator.perplexity(new LlamaDecoder(weights, 64), 1, ids, 8);
        assertTrue(shortWindows > ours, shortWindows + " vs " + ours);
    }

    @Test
    void quantizedRowsAreOrderedByPrecision() {
        requireShared();
        double fp = DecoderEvaluator.evaluate(weights, QuantRecipe.parse("fp32"), ids, 64).perplexity();
        DecoderEvaluator.Row int8 = DecoderEvaluator.evaluate(weights, QuantRecipe.parse("mxint8"), ids, 64);
        DecoderEvaluator.Row w2 = DecoderEvaluator.evaluate(weights, QuantRecipe.parse("rtn-w2g128"), ids, 64);
        // more bits, closer to FP32: 8-bit MX elements must lose far less than 2-bit integers
        assertTrue(Math.abs(int8.perplexity() - fp) < 0.25 * Math.abs(w2.perplexity() - fp), fp + " / " + int8 + " / " + w2);
        assertTrue(w2.perplexity() > int8.perplexity(), w2 + " vs " + int8);
        assertEquals(8.25, int8.bitsPerWeight(), 0.05);
        assertThrows(IllegalArgumentException.class, () -> DecoderEvaluator.evaluate(weights, QuantRecipe.parse("gptq-w4g128"), ids, 64));
    }
}
