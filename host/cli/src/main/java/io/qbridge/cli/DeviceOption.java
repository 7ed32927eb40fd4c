package io.qbridge.cli;

import io.qbridge.device.Accelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.runtime.Devices;
import picocli.CommandLine.Option;

/** {@code --device}: the accelerator a local command runs on, with the one wording of the {@code auto} rule. */
final class DeviceOption {
    /** What {@code auto} does, as every command's help says it (the rule itself is {@link Devices#open}'s). */
    static final String AUTO_RULE = "auto: a board when the XRT runtime, a card and a matching bitstream are present, else the emulator";

    @Option(names = "--device", defaultValue = "auto", paramLabel = "emulator|xrt|auto",
            description = "The device (default " + AUTO_RULE + ").")
    String device;

    /** Opens the chosen device, logging which one {@code auto} took and why. */
    Accelerator open(EmulatorConfig emulator) {
        return Devices.open(device, emulator, line -> Log.info("%s", line));
    }
}
