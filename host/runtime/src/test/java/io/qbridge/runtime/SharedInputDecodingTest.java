package io.qbridge.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.Sampler;
import io.qbridge.pipeline.DecoderEvaluator;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Decoding with the fused q/k/v and w1/w3 views (one matrix product, on a device one shared activation
 * quantization and one pass, per view) against the same weights with every projection run on its own: the same
 * logits bit for bit at every position, in FP32 and on the emulator's decode kernel.
 */
class SharedInputDecodingTest {
    private static final int POSITIONS = 20;

    private static LlamaWeights checkpoint() throws Exception {
        Path ckpt = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c/synth-a.bin");
        assumeTrue(Files.isRegularFile(ckpt), "shared/golden/llama2c is absent (a user's clone): skipping");
        return Llama2cCheckpoint.load(ckpt);
    }

    @Test
    void fp32FusedViewsEqualSeparateProjectionsTokenForToken() throws Exception {
        LlamaWeights fp32 = checkpoint();
        assertNotNull(fp32.layers().get(0).wqkv(), "the loader builds fused views");
        assertSameTokens("fp32", fp32, fp32.withoutFusedViews());
    }

    @Test
    void sharedDeviceCallsEqualSeparateCallsTokenForToken() throws Exception {
        LlamaWeights fp32 = checkpoint();
        for (String id : List.of("rtn-w4g128", "microscopiq-w4", "mxint8")) {
            Map<String, QuantizedLayer> q = DecoderEvaluator.quantizeBlocks(fp32, QuantRecipe.parse(id + "@rtn"));
            try (EmulatorAccelerator device = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), true)) {
                RunStats stats = new RunStats();
                LlamaWeights fused = AcceleratorModels.classifierOnDevice(AcceleratorModels.decoderOnDevice(fp32, q, device, stats),
                        QuantFormat.parse(id), device, stats);
                for (LlamaWeights.Layer layer : fused.layers()) {
                    assertInstanceOf(SharedInputLinear.class, layer.wqkv(), id);
                    assertInstanceOf(SharedInputLinear.class, layer.w13(), id);
                    assertNotNull(device.matVecKernel(((AcceleratorLinear) layer.wq()).handle()), id + ": the decode kernel runs");
                }
                LlamaWeights separate = fused.withoutFusedViews();
                assertNull(separate.layers().get(0).wqkv());
                assertSameTokens(id, fused, separate);
                // the statistics still count each part under its own name, once per token and decoder
                assertEquals(2L * POSITIONS, stats.perLayer().get("layers.0.wk").runs(), id);
                assertEquals(2L * POSITIONS, stats.perLayer().get("layers.0.w3").runs(), id);
                severalRowsEqualTheParts(id, fused.layers().get(1));
            }
        }
    }

    /** A fused view run on 3 rows at once (the decode kernel's several-token case) puts each part's row where it belongs. */
    private static void severalRowsEqualTheParts(String id, LlamaWeights.Layer layer) {
        Random rnd = new Random(7);
        for (List<Linear> view : List.of(List.of(layer.wqkv(), layer.wq(), layer.wk(), layer.wv()), List.of(layer.w13(), layer.w1(), layer.w3()))) {
            Linear whole = view.get(0);
            int rows = 3, k = whole.inFeatures(), n = whole.outFeatures();
            float[] x = new float[rows * k];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] y = new float[rows * n];
            whole.forward(x, rows, y);
            int off = 0;
            for (Linear part : view.subList(1, view.size())) {
                int ni = part.outFeatures();
                float[] yi = new float[rows * ni];
                part.forward(x, rows, yi);
                for (int r = 0; r < rows; r++) {
                    float[] got = java.util.Arrays.copyOfRange(y, r * n + off, r * n + off + ni);
                    float[] want = java.util.Arrays.copyOfRange(yi, r * ni, r * ni + ni);
                    assertArrayEquals(bits(want), bits(got), id + " " + whole.name() + " part " + part.name() + " row " + r);
                }
                off += ni;
            }
            assertEquals(n, off);
        }
    }

    private static void assertSameTokens(String what, LlamaWeights fused, LlamaWeights separate) {
        LlamaDecoder a = new LlamaDecoder(fused, POSITIONS), b = new LlamaDecoder(separate, POSITIONS);
        int[] tokens = new int[POSITIONS];
        tokens[0] = 1;
        for (int pos = 0; pos < POSITIONS; pos++) {
            float[] la = a.forward(tokens[pos], pos).clone(), lb = b.forward(tokens[pos], pos);
            assertArrayEquals(bits(lb), bits(la), what + ": logits at position " + pos);
            if (pos + 1 < POSITIONS) tokens[pos + 1] = Sampler.argmax(la, la.length);
        }
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }
}
