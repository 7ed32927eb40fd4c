package io.qbridge.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.Sampler;
import io.qbridge.pipeline.DecoderEvaluator;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Decoding on the emulator with the decode kernel (one token per call) against the same decoder without it
 * (every call on the tiled datapath, as before the kernel existed) and against the batched prompt path: the
 * same logits bit for bit at every position, hence the same greedy tokens; with the classifier on the host and
 * on the device.
 */
class DecodeKernelDecoderTest {
    private static final int POSITIONS = 20;

    @Test
    void decodePathEqualsTheTiledAndTheBatchedPathTokenForToken() throws Exception {
        Path ckpt = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c/synth-a.bin");
        assumeTrue(Files.isRegularFile(ckpt), "shared/golden/llama2c is absent (a user's clone): skipping");
        LlamaWeights fp32 = Llama2cCheckpoint.load(ckpt);
        for (String id : List.of("rtn-w4g128", "microscopiq-w4", "mxint8")) {
            Map<String, QuantizedLayer> q = DecoderEvaluator.quantizeBlocks(fp32, QuantRecipe.parse(id + "@rtn"));
            for (boolean classifier : new boolean[] {false, true}) {
                String what = id + (classifier ? " (classifier on the device)" : "");
                try (EmulatorAccelerator fast = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), true);
                     EmulatorAccelerator tiled = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), false)) {
                    LlamaWeights wf = AcceleratorModels.decoderOnDevice(fp32, q, fast, new RunStats());
                    LlamaWeights wt = AcceleratorModels.decoderOnDevice(fp32, q, tiled, new RunStats());
                    if (classifier) {
                        wf = AcceleratorModels.classifierOnDevice(wf, QuantFormat.parse(id), fast, new RunStats());
                        wt = AcceleratorModels.classifierOnDevice(wt, QuantFormat.parse(id), tiled, new RunStats());
                    }
                    LlamaDecoder a = new LlamaDecoder(wf, POSITIONS), b = new LlamaDecoder(wt, POSITIONS);
                    int[] tokens = new int[POSITIONS];
                    tokens[0] = 1;
                    float[] last = null;
                    for (int pos = 0; pos < POSITIONS; pos++) {
                        float[] la = a.forward(tokens[pos], pos).clone(), lb = b.forward(tokens[pos], pos);
                        assertArrayEquals(bits(lb), bits(la), what + ": logits at position " + pos);
                        int next = Sampler.argmax(la, la.length);
                        if (pos + 1 < POSITIONS) tokens[pos + 1] = next;
                        last = la;
                    }
                    // the batched path: all positions in one call per layer (the tiled datapath, many rows)
                    float[] batched = new LlamaDecoder(wf, POSITIONS).forwardPrompt(tokens, 0);
                    assertArrayEquals(bits(last), bits(batched), what + ": batched prompt's last logits");
                    if (classifier) assertNotNull(fast.matVecKernel(((AcceleratorLinear) wf.classifier()).handle()), what);
                    assertEquals(false, Arrays.equals(tokens, new int[POSITIONS]), what);
                }
            }
        }
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }
}
