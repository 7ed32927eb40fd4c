package io.qbridge.runtime;

import io.qbridge.device.Accelerator;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.xrt.XrtAccelerator;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/** Chooses and opens a device: {@code emulator}, {@code xrt} or {@code auto}. */
public final class Devices {
    /** Where the project keeps its bitstream manifest unless {@code qbridge.bitstreams} says otherwise. */
    public static final Path DEFAULT_BITSTREAM_DIR = Path.of(System.getProperty("qbridge.bitstreams", "fpga-bitstreams"));

    private Devices() {}

    /** As {@link #open(String, EmulatorConfig, Consumer, String)} with the library found by the default lookup. */
    public static Accelerator open(String choice, EmulatorConfig emulator, Consumer<String> log) {
        return open(choice, emulator, log, (String) null);
    }

    /**
     * Opens a device.
     *
     * @param choice     {@code emulator}, {@code xrt} or {@code auto} (XRT only when the library, a device and a
     *                   bitstream of the manifest are all present and the device opens with it, otherwise the
     *                   emulator with one log line saying which piece is missing)
     * @param emulator   configuration for the emulator (also the performance model and activation mode of an XRT device)
     * @param log        receives one line: which XRT device was opened, or why the emulator was taken
     * @param xrtLibrary {@code --xrt-library}, or null
     * @throws IllegalArgumentException for an unknown choice
     * @throws IllegalStateException    when {@code xrt} is requested and something it needs is missing or refused
     */
    public static Accelerator open(String choice, EmulatorConfig emulator, Consumer<String> log, String xrtLibrary) {
        String c = choice == null ? "auto" : choice.toLowerCase(Locale.ROOT);
        if (c.equals("emulator")) return new EmulatorAccelerator(emulator);
        if (!c.equals("xrt") && !c.equals("auto")) throw new IllegalArgumentException("unknown device '" + choice + "' (choose emulator, xrt or auto)");
        return open(c, emulator, log, XrtProbe.probe(xrtLibrary, DEFAULT_BITSTREAM_DIR.resolve("manifest.json")));
    }

    /**
     * Whether {@link #open(String, EmulatorConfig, Consumer, String)} would open the emulator for {@code choice}, told
     * without opening a device: {@code emulator}, or {@code auto} while a piece a board needs is missing (a board that
     * is present but refuses to open is not foreseen: false). An unknown choice: false ({@code open} reports it).
     */
    public static boolean choosesEmulator(String choice, String xrtLibrary) {
        return choosesEmulator(choice, () -> XrtProbe.probe(xrtLibrary, DEFAULT_BITSTREAM_DIR.resolve("manifest.json")));
    }

    /** As above with a given probe, looked at only for {@code auto} (tests). */
    static boolean choosesEmulator(String choice, java.util.function.Supplier<XrtProbe> probe) {
        String c = choice == null ? "auto" : choice.toLowerCase(Locale.ROOT);
        return c.equals("emulator") || c.equals("auto") && !probe.get().complete();
    }

    /** As above with a given probe (tests). */
    public static Accelerator open(String choice, EmulatorConfig emulator, Consumer<String> log, XrtProbe probe) {
        String c = choice == null ? "auto" : choice.toLowerCase(Locale.ROOT);
        return switch (c) {
            case "emulator" -> new EmulatorAccelerator(emulator);
            case "xrt" -> {
                if (!probe.complete()) throw new IllegalStateException("--device xrt: " + probe.missing());
                try {
                    yield openXrt(emulator, log, probe);
                } catch (RuntimeException e) {
                    throw new IllegalStateException("--device xrt: " + e.getMessage(), e);
                }
            }
            case "auto" -> {
                if (!probe.complete()) {
                    log.accept(probe.missing() + ": using the emulator");
                    yield new EmulatorAccelerator(emulator);
                }
                try {
                    yield openXrt(emulator, s -> {}, probe);
                } catch (RuntimeException e) {
                    log.accept("XRT device not usable (" + e.getMessage() + "): using the emulator");
                    yield new EmulatorAccelerator(emulator);
                }
            }
            default -> throw new IllegalArgumentException("unknown device '" + choice + "' (choose emulator, xrt or auto)");
        };
    }

    /**
     * A device opened once (a served board) as one job's device with the job's configuration (activation mode, Ax-BxP
     * plan, performance-model card): an XRT device's {@link XrtAccelerator#forJob} view; null for any other device.
     */
    public static Accelerator forJob(Accelerator served, EmulatorConfig job) {
        return served instanceof XrtAccelerator x ? x.forJob(job) : null;
    }

    private static Accelerator openXrt(EmulatorConfig emulator, Consumer<String> log, XrtProbe probe) {
        XrtAccelerator.Options o = XrtAccelerator.Options.defaults(probe.library().get().toString());
        return XrtAccelerator.open(new XrtAccelerator.Options(o.library(), o.index(), DEFAULT_BITSTREAM_DIR.resolve("manifest.json"), o.runTimeout()), emulator, log);
    }
}
