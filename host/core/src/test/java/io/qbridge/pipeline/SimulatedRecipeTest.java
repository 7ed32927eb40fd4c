package io.qbridge.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The official-MicroScopiQ simulated recipe on the real MiniLM weights: a host model to embed with, and its stored bits. */
class SimulatedRecipeTest {
    @Test
    void simulatedLayersEmbedOnTheHostAndCountTheirBits() {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        QuantRecipe recipe = QuantRecipe.parse("microscopiq-w4-official@rtn");
        assertThrows(IllegalArgumentException.class, () -> EncoderQuantizer.quantize(fp32, recipe, List.of(), null));
        EncoderQuantizer.Simulation s = EncoderQuantizer.simulate(fp32, recipe, List.of(), null);
        assertEquals(36, s.result().layers().size());
        for (QuantizedLayer q : s.result().layers()) assertNull(q.packed());
        long weights = fp32.encoder().linears().stream().mapToLong(l -> (long) l.inFeatures() * l.outFeatures()).sum();
        assertEquals(weights, s.weights());
        // b + 16/16 bits, plus 13 to 14 bits per outlier (a few percent of the weights): between 5 and 6.
        assertTrue(s.bitsPerWeight() > 5.0 && s.bitsPerWeight() < 6.0, "bits/weight " + s.bitsPerWeight());

        List<int[]> ids = fp32.tokenize(EvalCorpus.split(EvalCorpus.Split.HELD_OUT).subList(0, 16), null);
        float[][] ref = fp32.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
        float[][] sim = s.result().model().embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
        double cos = QualityReport.meanCosine(ref, sim);
        assertTrue(cos > 0.9 && cos < 1.0, "cosine to FP32 " + cos);
    }
}
