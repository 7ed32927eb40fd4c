package io.qbridge.server;

import io.qbridge.device.Accelerator;
import io.qbridge.runtime.Devices;
import io.qbridge.emulator.EmulatorConfig;
import java.util.function.Consumer;

/**
 * How a device job gets its accelerator: by the device layer's choice ({@code emulator}, {@code xrt},
 * {@code auto}), exactly as the local commands open it. The executor only ever talks to the
 * {@link Accelerator} it is handed, so a board, the emulator, or a test's fault-injecting mock are the same to it.
 */
@FunctionalInterface
public interface AcceleratorSource {
    /** @see Devices#open(String, EmulatorConfig, Consumer) */
    Accelerator open(String choice, EmulatorConfig emulator, Consumer<String> log);

    /** The device layer: {@link Devices#open}. */
    AcceleratorSource DEVICES = Devices::open;
}
