package io.qbridge.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The JIT warm-up of {@code qbridge embed} only costs time: a real model embedding while it runs (on the same
 * thread pool) gets the same bits as alone, and loading a built-in from bytes already read (as a container's
 * loader does, hashing them too) gives the same model as loading it from its jar.
 */
class EncoderWarmUpTest {
    @Test
    void embeddingsComputedDuringTheWarmUpAreTheSameBits() {
        EncoderModel m = EncoderModel.load(EncoderModel.Builtin.MINILM);
        List<int[]> ids = m.tokenize(List.of("The committee adopted the report without a vote.", "Yes.",
                "We must ensure that the rules apply to every member state, large or small."), null);
        float[][] alone = m.embedIds(ids, 4096);
        float[][] during;
        try (EncoderWarmUp warm = EncoderWarmUp.start()) {
            assertNotNull(warm, "qbridge.warmup is not set to false in tests");
            during = m.embedIds(ids, 4096);
        }
        for (int s = 0; s < alone.length; s++) assertArrayEquals(alone[s], during[s], "sentence " + s);
    }

    @Test
    void aBuiltinLoadedFromItsBytesIsTheSameModel() throws java.io.IOException {
        EncoderModel fromJar = EncoderModel.load(EncoderModel.Builtin.MINILM);
        EncoderModel fromBytes = EncoderModel.load(EncoderModel.Builtin.MINILM, EncoderModel.onnxBytes(EncoderModel.Builtin.MINILM));
        List<String> text = List.of("Energy prices have risen sharply across the Union this winter.");
        List<int[]> ids = fromJar.tokenize(text, null);
        assertArrayEquals(ids.get(0), fromBytes.tokenize(text, null).get(0));
        assertArrayEquals(fromJar.embedIds(ids, 4096)[0], fromBytes.embedIds(ids, 4096)[0]);
    }
}
