package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Real all-MiniLM-L6-v2 layers (384x384, 1536x384, 384x1536; RTN) with MX-INT8 activations, bit-exact
 * against the reference: MicroScopiQ-W4 (16-blocks, two per activation block) and RTN W4 g128 (fp16 scales,
 * four activation blocks per group). The BigDecimal reference dominates the time, so two formats only; the
 * random-shape tests cover the others.
 */
class MxActivationRealLayersTest {
    @Test
    void realLayersMatchTheExactReferenceWithMxActivations() {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        List<String> picked = List.of("encoder.layer.0.attention.self.query", "encoder.layer.2.intermediate.dense", "encoder.layer.5.output.dense");
        for (String id : List.of("microscopiq-w4", "rtn-w4g128")) {
            EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, QuantRecipe.parse(id + "@rtn"), List.of(), null);
            int seen = 0;
            for (QuantizedLayer l : r.layers()) {
                if (picked.stream().noneMatch(p -> l.name().startsWith(p))) continue;
                seen++;
                int rows = 5; // a 4-token tile and a partial one
                float[] x = seen == 2 ? MxActivationTest.spreadActivations(rows, l.packed().k(), seen) : EmulatorExactnessTest.activations(rows, l.packed().k(), seen);
                assertEquals(0, MxActivationTest.check(l.packed(), x, rows, l.bias(), id + " " + l.name()), id + " " + l.name());
            }
            assertEquals(3, seen, "layers found for " + id + ": check the layer names");
        }
    }
}
