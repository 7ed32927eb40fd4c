package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real all-MiniLM-L6-v2 layers quantized by {@link EncoderQuantizer} (RTN, so every format takes a second):
 * for every format, three layers of different shapes (384x384, 1536x384, 384x1536) run on the emulator and
 * must equal the exact reference bit for bit (asymmetric INT: within the documented bound).
 */
class RealLayersTest {
    private static EncoderModel fp32;

    @BeforeAll
    static void load() {
        fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
    }

    @Test
    void realLayersOfEveryFormatMatchTheExactReference() {
        List<String> picked = List.of("encoder.layer.0.attention.self.query", "encoder.layer.2.intermediate.dense", "encoder.layer.5.output.dense");
        for (String id : EmulatorExactnessTest.FORMATS) {
            EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, QuantRecipe.parse(id + "@rtn"), List.of(), null);
            int seen = 0;
            for (QuantizedLayer l : r.layers()) {
                if (picked.stream().noneMatch(p -> l.name().startsWith(p))) continue;
                seen++;
                int rows = 5; // one vector tile of 4 tokens plus a scalar row
                int differ = EmulatorExactnessTest.check(l.packed(), EmulatorExactnessTest.activations(rows, l.packed().k(), seen), rows, l.bias(),
                        id + " " + l.name());
                if (!ExactReference.hardwareRounds(l.packed())) assertEquals(0, differ, id + " " + l.name());
            }
            assertEquals(3, seen, "layers found for " + id + ": check the layer names");
        }
    }
}
