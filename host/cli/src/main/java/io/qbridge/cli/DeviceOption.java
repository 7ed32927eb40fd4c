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

    @Option(names = "--xrt-library", paramLabel = "PATH",
            description = "The XRT C library to use (default: $QBRIDGE_XRT_LIBRARY, else libxrt_coreutil.so(.2) in $XILINX_XRT/lib, jna.library.path, /opt/xilinx/xrt/lib); "
                    + "hls/build/libqbridge_swdevice.so is the software device.")
    String xrtLibrary;

    /** Whether {@link #open} would open the emulator, found without opening anything ({@link Devices#choosesEmulator}). */
    boolean choosesEmulator() {
        return Devices.choosesEmulator(device, xrtLibrary);
    }

    /** Opens the chosen device, logging which one was opened or why {@code auto} took the emulator. */
    Accelerator open(EmulatorConfig emulator) {
        return Devices.open(device, emulator, line -> Log.info("%s", line), xrtLibrary);
    }
}
