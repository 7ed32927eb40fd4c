package io.qbridge.runtime;

import io.qbridge.device.Accelerator;
import io.qbridge.device.LayerHandle;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.bert.EncoderWarmUp;
import io.qbridge.pipeline.QuantizedLayer;
import io.qbridge.quant.Quantized;
import io.qbridge.quant.Rtn;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * JIT warm-up of a device path: {@link EncoderWarmUp}'s tiny encoder with its linear layers quantized by RTN to the
 * format about to run and loaded on the device, so the device's kernels for that format (on the emulator: weight
 * decoding, activation quantization, the integer tiles) are compiled while the real container loads. Its layers
 * are unloaded when it ends and its runs go to a {@link RunStats} of its own, so nothing of it reaches a report.
 * Meant for the emulator; a board would spend its time on transfers, not on JIT compilation.
 */
public final class DeviceWarmUp {
    private DeviceWarmUp() {}

    /** Starts the warm-up (null when {@code qbridge.warmup} is false). */
    public static EncoderWarmUp start(Accelerator device, QuantFormat format) {
        List<LayerHandle> loaded = Collections.synchronizedList(new ArrayList<>());
        RunStats discarded = new RunStats();
        return EncoderWarmUp.start(lin -> {
            int n = lin.outFeatures(), k = lin.inFeatures();
            Quantized q = Rtn.quantize(format, lin.weightsOutIn(), n, k);
            AcceleratorLinear a = AcceleratorLinear.of(new QuantizedLayer(lin.name(), format.pack(q.tensor()), lin.bias(), q.dequantized()), device, discarded);
            loaded.add(a.handle());
            return a;
        }, () -> {
            for (LayerHandle h : loaded) {
                try {
                    device.unload(h);
                } catch (RuntimeException e) {
                    // the command ended first and closed the device, which frees its layers
                }
            }
        });
    }
}
