package io.qbridge.model.bert;

import io.qbridge.model.Linear;
import java.util.List;
import java.util.function.UnaryOperator;

/** One transformer layer's weights: six linear layers and two LayerNorms. */
public record BertLayer(Linear query, Linear key, Linear value, Linear attentionOutput, float[] attentionNormGamma,
                        float[] attentionNormBeta, Linear intermediate, Linear output, float[] outputNormGamma,
                        float[] outputNormBeta) {

    public List<Linear> linears() {
        return List.of(query, key, value, attentionOutput, intermediate, output);
    }

    /** The same layer with each linear replaced (quantized, moved to a device, instrumented). */
    public BertLayer mapLinears(UnaryOperator<Linear> f) {
        return new BertLayer(f.apply(query), f.apply(key), f.apply(value), f.apply(attentionOutput), attentionNormGamma,
                attentionNormBeta, f.apply(intermediate), f.apply(output), outputNormGamma, outputNormBeta);
    }
}
