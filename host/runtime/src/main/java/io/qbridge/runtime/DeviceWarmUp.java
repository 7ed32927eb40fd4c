package io.qbridge.runtime;

import io.qbridge.device.Accelerator;
import io.qbridge.device.LayerHandle;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import io.qbridge.model.WarmUps;
import io.qbridge.model.bert.EncoderWarmUp;
import io.qbridge.model.llama.DecoderWarmUp;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.pipeline.QuantizedLayer;
import io.qbridge.quant.Quantized;
import io.qbridge.quant.Rtn;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * JIT warm-up of a device path: {@link EncoderWarmUp}'s tiny encoder, or {@link DecoderWarmUp}'s tiny decoder, with
 * its linear layers quantized by RTN to the format about to run and loaded on the device, so the device's kernels
 * for that format (on the emulator: weight decoding, activation quantization, the integer tiles, the decode kernel
 * and its shared-input calls) are compiled while the real model loads; the encoder's also calls one small layer of its
 * own many times first (the device probe of {@link EncoderWarmUp#start(java.util.function.UnaryOperator, Runnable)}).
 * Its layers leave the device when it ends (the decoder's run on an emulator of their own) and its runs go to a
 * {@link RunStats} of its own, so nothing of it reaches a report. Meant for the emulator; a board would spend its time
 * on transfers, not on JIT compilation.
 */
public final class DeviceWarmUp {
    private DeviceWarmUp() {}

    /**
     * Starts the warm-up (null when {@code qbridge.warmup} is false); {@code format} is asked for once, on the warm-up
     * thread, when its first layer is loaded, and an exception there ends the warm-up.
     */
    public static EncoderWarmUp start(Accelerator device, Supplier<QuantFormat> format) {
        Loader loader = new Loader(device, format);
        return EncoderWarmUp.start(loader::load, loader::unloadAll);
    }

    /**
     * The tiny decoder's forward passes on a device: each makes 9 device calls when its layers have decode kernels and
     * its classifier is on the device (per block one q/k/v, one o, one w1/w3 and one w2 call), and the emulator's
     * kernels were still being compiled after the host path's {@link DecoderWarmUp#HOST_FORWARDS} (the first real
     * tokens ran slower).
     */
    private static final int DECODER_FORWARDS = 1000;

    /**
     * Starts the warm-up of {@code qbridge generate} on an emulator of its own with {@code config} (null when warm-ups
     * are off, {@link WarmUps#enabled}): the tiny decoder placed as {@link AcceleratorModels#decoderOnDevice}
     * places a real one, its block layers and with {@code classifier} its classifier in {@code format}. Its own
     * emulator, closed when it ends, so the real device is opened when and as it always is and holds nothing of the
     * warm-up; the JIT-compiled code is the process's.
     */
    public static DecoderWarmUp decoder(EmulatorConfig config, QuantFormat format, boolean classifier) {
        return WarmUps.enabled() ? decoder(new EmulatorAccelerator(config), format, classifier) : null;
    }

    /** As above on {@code device}, which the warm-up closes when it ends (tests count what it does there). */
    static DecoderWarmUp decoder(Accelerator device, QuantFormat format, boolean classifier) {
        return DecoderWarmUp.start(w -> {
            Map<String, QuantizedLayer> blocks = new HashMap<>();
            for (LlamaWeights.Layer l : w.layers()) for (Linear lin : l.linears()) blocks.put(lin.name(), rtn(lin, format));
            return AcceleratorModels.decoderOnDevice(w, blocks, classifier ? rtn(w.classifier(), format) : null, device, new RunStats());
        }, device::close, DECODER_FORWARDS);
    }

    /** {@code lin} quantized by RTN to {@code format}. */
    private static QuantizedLayer rtn(Linear lin, QuantFormat format) {
        Quantized q = Rtn.quantize(format, lin.weightsOutIn(), lin.outFeatures(), lin.inFeatures());
        return new QuantizedLayer(lin.name(), format.pack(q.tensor()), lin.bias(), q.dequantized());
    }

    /** Loads the encoder warm-up's layers, quantized by RTN, and unloads them all at the end. */
    private static final class Loader {
        final Accelerator device;
        final Supplier<QuantFormat> formatSource;
        QuantFormat format; // from formatSource at the first load; loads are on the warm-up thread only
        final RunStats discarded = new RunStats();
        final List<LayerHandle> loaded = Collections.synchronizedList(new ArrayList<>());

        Loader(Accelerator device, Supplier<QuantFormat> format) {
            this.device = device;
            this.formatSource = format;
        }

        Linear load(Linear lin) {
            if (format == null) format = formatSource.get();
            AcceleratorLinear a = AcceleratorLinear.of(rtn(lin, format), device, discarded);
            loaded.add(a.handle());
            return a;
        }

        void unloadAll() {
            for (LayerHandle h : loaded) {
                try {
                    device.unload(h);
                } catch (RuntimeException e) {
                    // the command ended first and closed the device, which frees its layers
                }
            }
        }
    }
}
