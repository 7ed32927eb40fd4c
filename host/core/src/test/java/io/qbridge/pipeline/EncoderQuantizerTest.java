package io.qbridge.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.data.EvalCorpus;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.quant.Gptq;
import io.qbridge.quant.GptqConfig;
import io.qbridge.quant.GptqResult;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model-level pipeline on the real all-MiniLM-L6-v2 weights (6 layers: quick enough for a unit test). */
class EncoderQuantizerTest {
    private static EncoderModel fp32;
    private static List<int[]> calib;

    @BeforeAll
    static void load() {
        fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        calib = fp32.tokenize(EvalCorpus.split(EvalCorpus.Split.CALIBRATION).subList(0, 16), null);
    }

    @Test
    void recipesParse() {
        assertEquals(QuantRecipe.Algorithm.GPTQ, QuantRecipe.parse("gptq-w4g128").algorithm());
        assertEquals("rtn-w4g128", QuantRecipe.parse("gptq-w4g128").format().id());
        assertEquals(QuantRecipe.Algorithm.GPTQ, QuantRecipe.parse("microscopiq-w4").algorithm());
        assertEquals(QuantRecipe.Algorithm.RTN, QuantRecipe.parse("microscopiq-w4@rtn").algorithm());
        assertEquals(QuantRecipe.Algorithm.RTN, QuantRecipe.parse("mxfp4").algorithm());
        assertEquals(QuantRecipe.Algorithm.NONE, QuantRecipe.parse("fp32").algorithm());
        assertThrows(IllegalArgumentException.class, () -> QuantRecipe.parse("int5-magic"));
        assertThrows(IllegalArgumentException.class, () -> QuantRecipe.parse("mxfp4@sgd"));
    }

    @Test
    void containerRoundTripGivesTheSameModelBitForBit(@TempDir Path dir) throws Exception {
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("fineq"), List.of(), null);
        Path file = dir.resolve("minilm-fineq.qbz");
        QuantizedEncoders.save(file, EncoderModel.Builtin.MINILM, r);
        QuantizedEncoders.Loaded loaded = QuantizedEncoders.load(file);
        assertEquals(r.layers().size(), loaded.layers().size());
        for (int i = 0; i < r.layers().size(); i++) {
            assertEquals(r.layers().get(i).packed(), loaded.layers().get(i).packed());
            assertArrayEquals(r.layers().get(i).dequantized(), loaded.layers().get(i).dequantized());
        }
        List<int[]> ids = fp32.tokenize(List.of("The committee adopted the report.", "We vote tomorrow."), null);
        float[][] a = r.model().embedIds(ids, 4096), b = loaded.model().embedIds(ids, 4096);
        for (int s = 0; s < a.length; s++) assertArrayEquals(a[s], b[s], "sentence " + s);
    }

    @Test
    void quantizedModelComputesWithTheDequantizedWeights() {
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("mxint8"), List.of(), null);
        List<Linear> linears = r.model().encoder().linears();
        assertEquals(36, linears.size());
        for (int i = 0; i < linears.size(); i++) {
            assertArrayEquals(r.layers().get(i).dequantized(), linears.get(i).weightsOutIn(), linears.get(i).name());
            assertArrayEquals(QuantFormat.parse("mxint8").dequantize(r.layers().get(i).packed()), r.layers().get(i).dequantized());
        }
    }

    @Test
    void firstBlockGptqUsesTheCalibrationHessianOfItsInputs() {
        // Block 0 sees FP32 embeddings, so its Hessian is reproducible by hand: run block 0's inputs, build
        // H = 2 X^T X, and GPTQ must give exactly the layer the pipeline produced.
        QuantRecipe recipe = QuantRecipe.parse("gptq-w4g128");
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, recipe, calib, null);
        Linear query = fp32.encoder().layers().get(0).query();
        float[][] captured = new float[1][];
        int[] rows = new int[1];
        EncoderModel spy = fp32.mapLinears(l -> l != query ? l : new io.qbridge.model.ForwardingLinear(l) {
            @Override public void forward(float[] x, int n, float[] y) {
                captured[0] = x.clone();
                rows[0] = n;
                l.forward(x, n, y);
            }
        });
        spy.encoder().forward(calib, 1);
        int k = query.inFeatures();
        double[] h = new double[k * k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int t = 0; t < rows[0]; t++) s += (double) captured[0][t * k + i] * captured[0][t * k + j];
                h[i * k + j] = 2 * s;
            }
        }
        GptqResult expected = Gptq.quantize(query.weightsOutIn(), query.outFeatures(), k, h, GptqConfig.DEFAULT, recipe.format());
        float[] got = r.layers().get(0).dequantized();
        int differ = 0;
        for (int i = 0; i < got.length; i++) if (got[i] != expected.dequantized()[i]) differ++;
        // The pipeline sums X^T X in FP32 products (as GPTQ's reference does); the hand sum is in double.
        // Rounding can flip a handful of codes near a decision boundary, never more.
        assertTrue(differ <= got.length / 1000, differ + " of " + got.length + " weights differ");
    }
}
