package io.qbridge.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.RunResult;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.EncoderWarmUp;
import io.qbridge.model.llama.DecoderWarmUp;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.Sampler;
import io.qbridge.pipeline.DecoderEvaluator;
import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The device warm-ups. {@code qbridge run}'s runs its tiny layers on the device, unloads every one of them when it
 * ends, and a real model computing on the same device while it runs (forced: each real layer waits until the warm-up
 * has run one of its own) gets the same bits as without it. {@code qbridge generate}'s runs a tiny decoder on a
 * device of its own, closes that device when it ends, and real decoding beside it gets the same bits.
 */
class DeviceWarmUpTest {
    /** The emulator, counting what the warm-up does to it. */
    private static final class Counting implements Accelerator {
        final EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.defaults());
        final Set<Long> resident = ConcurrentHashMap.newKeySet();
        final AtomicInteger loads = new AtomicInteger(), runs = new AtomicInteger(), sharedRuns = new AtomicInteger();
        /** The fewest tokens of a warm-up call (of a layer not in {@link #real}). */
        final AtomicInteger warmUpRows = new AtomicInteger(Integer.MAX_VALUE);
        /** The real model's layers, once set; from then on a run of any other layer is the warm-up's. */
        volatile Set<Long> real = Set.of();
        /** Opened by the warm-up's first run; a real layer's run waits for it, so the two do overlap. */
        final CountDownLatch warmUpRan = new CountDownLatch(1);
        volatile boolean holdRealRuns, closed;

        @Override public DeviceInfo describe() { return dev.describe(); }
        @Override public LayerHandle load(PackedTensor w, float[] b) {
            LayerHandle h = dev.load(w, b);
            resident.add(h.id());
            loads.incrementAndGet();
            return h;
        }
        @Override public RunResult run(LayerHandle h, float[] x, int rows, float[] y) {
            runs.incrementAndGet();
            if (!real.isEmpty() && !real.contains(h.id())) {
                warmUpRan.countDown();
                warmUpRows.accumulateAndGet(rows, Math::min);
            } else if (holdRealRuns) awaitWarmUp();
            return dev.run(h, x, rows, y);
        }
        /** Forwarded, so that the decoder warm-up runs the emulator's shared-input calls as a real decoder does. */
        @Override public RunResult[] runShared(LayerHandle[] handles, float[] x, int rows, float[][] ys) {
            sharedRuns.incrementAndGet();
            if (!real.isEmpty() && !real.contains(handles[0].id())) warmUpRan.countDown();
            return dev.runShared(handles, x, rows, ys);
        }
        @Override public void expectDecoding() { dev.expectDecoding(); }
        @Override public void unload(LayerHandle h) {
            dev.unload(h);
            resident.remove(h.id());
        }
        @Override public void close() {
            closed = true;
            dev.close();
        }

        private void awaitWarmUp() {
            try {
                // a failure bound, not a measurement: the tiny model's first layer on a loaded machine
                if (!warmUpRan.await(120, TimeUnit.SECONDS)) throw new AssertionError("the warm-up ran no layer within 120 s");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void runsItsLayersOnTheDeviceUnloadsThemAndChangesNoResult() throws InterruptedException {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        EncoderQuantizer.Result q = EncoderQuantizer.quantize(fp32, QuantRecipe.parse("microscopiq-w4@rtn"), List.of(), null);
        List<int[]> ids = fp32.tokenize(List.of("The committee adopted the report.", "We vote tomorrow on the budget.", "Yes."), null);
        try (Counting dev = new Counting()) {
            EncoderModel onDevice = AcceleratorModels.onDevice(q, dev, new RunStats());
            float[][] quiet = onDevice.embedIds(ids, 4096);
            int realLayers = dev.resident.size();
            dev.real = Set.copyOf(dev.resident);
            dev.holdRealRuns = true; // the real model's layers wait until the warm-up has run one of its own
            EncoderWarmUp warm = DeviceWarmUp.start(dev, () -> QuantFormat.parse("microscopiq-w4"));
            assertNotNull(warm, "qbridge.warmup is not set to false in tests");
            float[][] during = onDevice.embedIds(ids, 4096); // the same device, the warm-up's layers beside these
            warm.close();
            for (int s = 0; s < quiet.length; s++) assertArrayEquals(quiet[s], during[s], "sentence " + s);
            // its probe layer, then, as far as it got before close(), the tiny model's six (close() may come between them)
            int warmUpLoads = dev.loads.get() - realLayers;
            assertTrue(warmUpLoads >= 1 && warmUpLoads <= 7, "the warm-up loads its probe layer and at most six more: " + warmUpLoads);
            assertTrue(dev.warmUpRows.get() > io.qbridge.emulator.MatVecKernel.MAX_ROWS, "the warm-up's calls take the decode kernel, not the tiles: " + dev.warmUpRows.get() + " rows");
            assertEquals(0, dev.warmUpRan.getCount(), "the warm-up ran nothing on the device");
            assertEquals(realLayers, dev.resident.size(), "a warm-up layer is still on the device");
        }
    }

    @Test
    void asksForTheFormatOnItsOwnThreadAndAFormatItCannotGetEndsItWithNothingLoaded() {
        try (Counting dev = new Counting()) {
            Thread caller = Thread.currentThread();
            AtomicReference<Thread> askedOn = new AtomicReference<>();
            EncoderWarmUp warm = DeviceWarmUp.start(dev, () -> {
                askedOn.set(Thread.currentThread());
                throw new UncheckedIOException(new IOException("m.qbz: bad magic: not a .qbz container"));
            });
            assertNotNull(warm, "qbridge.warmup is not set to false in tests");
            warm.close(); // waits for the thread: its host passes end, then the failed probe ends it
            assertNotNull(askedOn.get(), "the warm-up never asked for the format");
            assertNotEquals(caller, askedOn.get(), "the format was read on the caller's thread, holding its load back");
            assertEquals(0, dev.loads.get(), "a layer was loaded without a format");
            assertEquals(0, dev.runs.get(), "the device ran a layer");
        }
    }

    @Test
    void decoderWarmUpRunsOnItsOwnDeviceClosesItAndChangesNoResult() throws InterruptedException {
        LlamaWeights fp32 = DecoderWarmUp.tiny();
        QuantFormat format = QuantFormat.parse("rtn-w4g128");
        Map<String, QuantizedLayer> blocks = DecoderEvaluator.quantizeBlocks(fp32, QuantRecipe.parse("rtn-w4g128"));
        try (EmulatorAccelerator real = new EmulatorAccelerator(EmulatorConfig.defaults());
             Counting own = new Counting()) {
            LlamaWeights onDevice = AcceleratorModels.decoderOnDevice(fp32, blocks, DecoderQuantizer.quantizeClassifier(fp32, format), real, new RunStats());
            float[][] quiet = decode(onDevice);
            own.real = Set.of(-1L); // every layer on this device is the warm-up's
            DecoderWarmUp warm = DeviceWarmUp.decoder(own, format, true);
            assertNotNull(warm, "qbridge.warmup is not set to false in tests");
            // a failure bound, not a measurement: the warm-up's first forward pass on a loaded machine
            assertTrue(own.warmUpRan.await(120, TimeUnit.SECONDS), "the warm-up ran no layer within 120 s");
            float[][] during = decode(onDevice);
            warm.await();
            for (int p = 0; p < quiet.length; p++) assertArrayEquals(quiet[p], during[p], "position " + p);
            assertEquals(2 * 7 + 1, own.loads.get(), "the warm-up loads its 14 block layers and its classifier once");
            assertTrue(own.sharedRuns.get() >= 2 * 2, "the warm-up ran no shared-input call (q/k/v, w1/w3): " + own.sharedRuns.get());
            assertTrue(own.closed, "the warm-up's device is still open");
        }
    }

    /** Greedy logits at 12 positions. */
    private static float[][] decode(LlamaWeights w) {
        LlamaDecoder d = new LlamaDecoder(w);
        float[][] out = new float[12][];
        int token = 1;
        for (int p = 0; p < out.length; p++) {
            out[p] = d.forward(token, p).clone();
            token = Sampler.argmax(out[p], out[p].length);
        }
        return out;
    }
}
