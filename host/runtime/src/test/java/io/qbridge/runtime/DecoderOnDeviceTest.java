package io.qbridge.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qbridge.device.Accelerator;
import io.qbridge.runtime.Devices;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.device.PerfConfig;
import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.pipeline.DecoderEvaluator;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The LLaMA decoder with its block linears on the emulator, against the same quantized weights on the host. */
class DecoderOnDeviceTest {
    @Test
    void blockLinearsRunOnTheDeviceAndTrackTheHostPath() throws Exception {
        Path ckpt = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c/stories260K.bin");
        assumeTrue(Files.isRegularFile(ckpt), "shared/golden/llama2c is absent (a user's clone): skipping");
        LlamaWeights fp32 = Llama2cCheckpoint.load(ckpt);
        QuantRecipe recipe = QuantRecipe.parse("mxint8");
        RunStats stats = new RunStats();
        try (Accelerator dev = Devices.open("emulator", new EmulatorConfig(PerfConfig.preset("u55c"), EmulatorConfig.DEFAULT_FORMATS), line -> {})) {
            LlamaWeights onDevice = AcceleratorModels.decoderOnDevice(fp32, recipe, dev, stats);
            assertSame(fp32.classifier(), onDevice.classifier(), "the classifier stays on the host");
            int onDev = 0;
            for (LlamaWeights.Layer l : onDevice.layers()) for (Linear lin : l.linears()) if (lin instanceof AcceleratorLinear) onDev++;
            assertEquals(7 * fp32.config().nLayers(), onDev);

            Map<String, QuantizedLayer> q = DecoderEvaluator.quantizeBlocks(fp32, recipe);
            LlamaWeights host = fp32.mapLinears(lin -> q.containsKey(lin.name())
                    ? DenseLinear.outIn(lin.name(), q.get(lin.name()).dequantized(), lin.inFeatures(), lin.outFeatures(), null) : lin);
            LlamaDecoder a = new LlamaDecoder(onDevice, 16), b = new LlamaDecoder(host, 16);
            int token = 1;
            for (int pos = 0; pos < 8; pos++) {
                float[] la = a.forward(token, pos).clone(), lb = b.forward(token, pos);
                double dot = 0, na = 0, nb = 0;
                for (int i = 0; i < la.length; i++) {
                    dot += (double) la[i] * lb[i];
                    na += (double) la[i] * la[i];
                    nb += (double) lb[i] * lb[i];
                }
                // the device adds only its INT8 per-token activation quantization to the same weights
                // (measured: cosine >= 0.998 on this 260K-parameter model; the encoder test uses 0.98)
                assertTrue(dot / Math.sqrt(na * nb) > 0.99, "position " + pos + ": cosine " + dot / Math.sqrt(na * nb));
                token = io.qbridge.model.llama.Sampler.argmax(lb, lb.length);
            }
            assertEquals(8L * 7 * fp32.config().nLayers(), stats.total().runs());
            assertTrue(stats.total().deviceSeconds() > 0);
        }
    }
}
