package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.RunResult;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.quant.Rtn;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The watch a job's device runs under: a decoder's shared-input call reaches the device as one call and is timed. */
class DeviceWatchTest {
    /** The emulator, counting the calls it gets and noting how long the watch saw the shared call in flight. */
    private static final class Counting implements Accelerator {
        final EmulatorAccelerator emu = new EmulatorAccelerator(EmulatorConfig.defaults());
        final AtomicInteger runs = new AtomicInteger(), sharedRuns = new AtomicInteger();
        final AtomicLong inFlightSeen = new AtomicLong(-1);
        DeviceWatch.Watched watch;

        @Override public DeviceInfo describe() { return emu.describe(); }
        @Override public LayerHandle load(PackedTensor w, float[] b) { return emu.load(w, b); }
        @Override public RunResult run(LayerHandle h, float[] x, int rows, float[] y) {
            runs.incrementAndGet();
            return emu.run(h, x, rows, y);
        }
        @Override public RunResult[] runShared(LayerHandle[] hs, float[] x, int rows, float[][] ys) {
            sharedRuns.incrementAndGet();
            try {
                Thread.sleep(30); // long enough for the watch's clock to show the call in flight
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            inFlightSeen.set(watch.longestRunMillis());
            return emu.runShared(hs, x, rows, ys);
        }
        @Override public void unload(LayerHandle h) { emu.unload(h); }
        @Override public void close() { emu.close(); }
    }

    @Test
    void aSharedInputCallIsForwardedWholeAndTimedWhileInFlight() {
        QuantFormat f = QuantFormat.parse("rtn-w4g128");
        Random rnd = new Random(11);
        int k = 256;
        float[] x = new float[k];
        for (int j = 0; j < k; j++) x[j] = (float) rnd.nextGaussian();
        try (Counting dev = new Counting(); EmulatorAccelerator alone = new EmulatorAccelerator(EmulatorConfig.defaults())) {
            DeviceWatch.Watched watched = new DeviceWatch.Watched(dev);
            dev.watch = watched;
            int[] ns = {48, 16, 16};
            LayerHandle[] hs = new LayerHandle[ns.length];
            float[][] ys = new float[ns.length][], expected = new float[ns.length][];
            for (int i = 0; i < ns.length; i++) {
                float[] w = new float[ns[i] * k];
                for (int j = 0; j < w.length; j++) w[j] = (float) rnd.nextGaussian();
                PackedTensor p = f.pack(Rtn.quantize(f, w, ns[i], k).tensor());
                hs[i] = watched.load(p, null);
                ys[i] = new float[ns[i]];
                expected[i] = new float[ns[i]];
                alone.run(alone.load(p, null), x, 1, expected[i]);
            }
            watched.runShared(hs, x, 1, ys);
            assertEquals(1, dev.sharedRuns.get(), "one shared call reaches the device");
            assertEquals(0, dev.runs.get(), "the watch did not split the shared call into single runs");
            assertTrue(dev.inFlightSeen.get() >= 20, "the watch timed the shared call while it ran: " + dev.inFlightSeen.get() + " ms");
            assertEquals(0, watched.longestRunMillis(), "nothing in flight after the call");
            for (int i = 0; i < ns.length; i++) assertArrayEquals(expected[i], ys[i], "layer " + i);
        }
    }
}
