package io.qbridge.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.RunResult;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.format.PackedTensor;
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

    /** The emulator as a device that takes one load at a time (the interface's default). */
    private record OneLoadAtATime(EmulatorAccelerator dev) implements Accelerator {
        @Override public DeviceInfo describe() { return dev.describe(); }
        @Override public LayerHandle load(PackedTensor w, float[] b) { return dev.load(w, b); }
        @Override public LayerHandle load(String layer, PackedTensor w, float[] b) { return dev.load(layer, w, b); }
        @Override public RunResult run(LayerHandle h, float[] x, int rows, float[] y) { return dev.run(h, x, rows, y); }
        @Override public void unload(LayerHandle h) { dev.unload(h); }
        @Override public void close() { dev.close(); }
    }

    @Test
    void layersLoadedInParallelGiveTheBitsOfLayersLoadedOneAtATime() {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        EncoderQuantizer.Result q = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("microscopiq-w4@rtn"), List.of(), null);
        List<int[]> ids = fp32.tokenize(List.of("The committee adopted the report.", "We vote tomorrow on the budget.", "Yes."), null);
        try (EmulatorAccelerator parallel = new EmulatorAccelerator(EmulatorConfig.defaults());
             OneLoadAtATime sequential = new OneLoadAtATime(new EmulatorAccelerator(EmulatorConfig.defaults()))) {
            assertTrue(parallel.loadsConcurrently());
            EncoderModel a = AcceleratorModels.onDevice(q, parallel, new RunStats()), b = AcceleratorModels.onDevice(q, sequential, new RunStats());
            List<Linear> la = a.encoder().linears(), lb = b.encoder().linears();
            for (int i = 0; i < la.size(); i++) assertEquals(lb.get(i).name(), la.get(i).name(), "layer " + i + " is in another place");
            float[][] ea = a.embedIds(ids, 4096), eb = b.embedIds(ids, 4096);
            for (int s = 0; s < ea.length; s++) assertArrayEquals(eb[s], ea[s], "sentence " + s);
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
