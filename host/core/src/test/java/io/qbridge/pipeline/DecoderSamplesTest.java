package io.qbridge.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaConfig;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.RandomCheckpointWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The self-text of {@code eval --self-text}: sequences sampled from the model, and a model that gives none. */
class DecoderSamplesTest {
    @TempDir Path dir;

    private LlamaWeights model(boolean sharedClassifier) throws Exception {
        Path bin = dir.resolve("m-" + sharedClassifier + ".bin");
        RandomCheckpointWriter.write(bin, LlamaConfig.llama2c(128, 256, 2, 4, 2, 300, 32, sharedClassifier), 9);
        return Llama2cCheckpoint.load(bin);
    }

    @Test
    void samplesTheWantedSequencesFromBosAndTheSameForTheSameSeed() throws Exception {
        LlamaWeights w = model(false);
        List<int[]> a = DecoderSamples.sample(w, 4, 16, DecoderSamples.TEXT_SEED), b = DecoderSamples.sample(w, 4, 16, DecoderSamples.TEXT_SEED);
        assertEquals(4, a.size());
        for (int i = 0; i < a.size(); i++) {
            assertTrue(a.get(i).length >= 2 && a.get(i).length <= 16, "sequence " + i + " has " + a.get(i).length + " tokens");
            assertEquals(w.config().bosTokenId(), a.get(i)[0]);
            assertArrayEquals(a.get(i), b.get(i));
        }
    }

    @Test
    void aModelThatEndsEverySequenceAtOnceIsAnErrorNotAnEndlessLoop() throws Exception {
        // tied embeddings and small random blocks: the classifier scores BOS highest right after BOS, every time
        LlamaWeights w = model(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderSamples.sample(w, 4, 16, DecoderSamples.TEXT_SEED));
        int draws = 4 * DecoderSamples.MAX_DRAWS_PER_SEQUENCE;
        assertEquals("the model ended " + draws + " of " + draws + " sampled sequences at their first token (it samples BOS right after BOS): "
                + "too few self-text sequences (0 of 4)", e.getMessage());
    }
}
