package io.qbridge.runtime;

import io.qbridge.device.Accelerator;


import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/** Chooses and opens a device: {@code emulator}, {@code xrt} or {@code auto}. */
public final class Devices {
    /** Where the project keeps its .xclbin files unless {@code qbridge.bitstreams} says otherwise. */
    public static final Path DEFAULT_BITSTREAM_DIR = Path.of(System.getProperty("qbridge.bitstreams", "fpga-bitstreams"));

    private Devices() {}

    /**
     * Opens a device.
     *
     * @param choice   {@code emulator}, {@code xrt} or {@code auto} (XRT only when the library, a card and a
     *                 bitstream are all present, otherwise the emulator with one log line saying why)
     * @param emulator configuration for the emulator (also the performance model of an XRT device)
     * @param log      receives at most one line
     * @throws IllegalArgumentException for an unknown choice
     * @throws IllegalStateException    when {@code xrt} is requested and something it needs is missing, or
     *                                  when everything is present (the XRT binding is not implemented yet)
     */
    public static Accelerator open(String choice, EmulatorConfig emulator, Consumer<String> log) {
        return open(choice, emulator, log, XrtProbe.probe(DEFAULT_BITSTREAM_DIR));
    }

    /** As {@link #open(String, EmulatorConfig, Consumer)} with a given probe (tests). */
    public static Accelerator open(String choice, EmulatorConfig emulator, Consumer<String> log, XrtProbe probe) {
        String c = choice == null ? "auto" : choice.toLowerCase(Locale.ROOT);
        return switch (c) {
            case "emulator" -> new EmulatorAccelerator(emulator);
            case "xrt" -> {
                if (!probe.complete()) throw new IllegalStateException("--device xrt: " + probe.missing());
                throw new IllegalStateException("--device xrt: XRT is present (" + probe.library().get() + ") but the XRT binding is not implemented yet");
            }
            case "auto" -> {
                if (probe.complete()) log.accept("XRT runtime, card and bitstream found, but the XRT binding is not implemented yet: using the emulator");
                else log.accept(probe.missing() + ": using the emulator");
                yield new EmulatorAccelerator(emulator);
            }
            default -> throw new IllegalArgumentException("unknown device '" + choice + "' (choose emulator, xrt or auto)");
        };
    }
}
