package io.qbridge.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A whole encoder on the emulator: every linear layer runs on the device, and the result is the host model's up to INT8 activations. */
class AcceleratorModelsTest {
    @Test
    void everyLinearRunsOnTheDeviceAndEmbeddingsTrackTheHostModel() {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        EncoderQuantizer.Result q = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("microscopiq-w4@rtn"), List.of(), null);
        RunStats stats = new RunStats();
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.defaults())) {
            EncoderModel onDevice = AcceleratorModels.onDevice(q, dev, stats);
            int linears = fp32.encoder().linears().size();
            for (Linear l : onDevice.encoder().linears()) assertTrue(l instanceof AcceleratorLinear, l.name() + " is not on the device");
            // weightsOutIn is the exact dequantized image, the same the host model computes with
            assertArrayEquals(q.layers().get(0).dequantized(), onDevice.encoder().linears().get(0).weightsOutIn());
            List<int[]> ids = fp32.tokenize(List.of("The committee adopted the report.", "We vote tomorrow on the budget.", "Yes."), null);
            float[][] dev1 = onDevice.embedIds(ids, 4096), host = q.model().embedIds(ids, 4096);
            assertEquals(linears, stats.perLayer().size());
            assertEquals(linears, stats.total().runs());
            assertTrue(stats.total().energyJoules() > 0 && stats.total().deviceCycles() > 0);
            for (int s = 0; s < host.length; s++) {
                double dot = 0, a = 0, b = 0;
                for (int i = 0; i < host[s].length; i++) { dot += dev1[s][i] * host[s][i]; a += dev1[s][i] * dev1[s][i]; b += host[s][i] * host[s][i]; }
                double cos = dot / Math.sqrt(a * b);
                assertTrue(cos > 0.98, "sentence " + s + ": cosine to the host model " + cos);
            }
            // the device result is deterministic: a second pass gives the same bits
            float[][] again = onDevice.embedIds(ids, 4096);
            for (int s = 0; s < host.length; s++) assertArrayEquals(dev1[s], again[s]);
        }
    }

    @Test
    void aModelWithALayerMissingIsRejected() {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        EncoderQuantizer.Result q = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("mxfp4"), List.of(), null);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.defaults())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> AcceleratorModels.onDevice(fp32, q.layers().subList(1, q.layers().size()), dev, new RunStats()));
            assertTrue(e.getMessage().contains("encoder.layer.0.attention.self.query"), e.getMessage());
        }
    }
}
