package io.qbridge.runtime;

import io.qbridge.xrt.BitstreamManifest;
import io.qbridge.xrt.XrtAccelerator;
import io.qbridge.xrt.XrtLibraries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What an XRT device needs, looked up before anything is opened: the XRT library (the lookup order of
 * {@link XrtLibraries}: {@code --xrt-library}, {@code QBRIDGE_XRT_LIBRARY}, {@code $XILINX_XRT/lib},
 * {@code jna.library.path}, {@code /opt/xilinx/xrt/lib}), a device (an Alveo card bound to the {@code xocl}
 * driver, or the software device when the library is {@code hls/build/libqbridge_swdevice.so}), and a bitstream
 * of the manifest for that target whose file exists.
 *
 * @param library   the library found, if any
 * @param device    the card's sysfs path, or {@code software} for the software device, if any
 * @param bitstream the manifest's bitstream file for the target, if any
 */
public record XrtProbe(Optional<Path> library, Optional<Path> device, Optional<Path> bitstream) {
    public static final String LIBRARY = "libxrt_coreutil.so";
    public static final Path SOFTWARE = Path.of("software");

    /** Probes with the default lookup, no explicit library. */
    public static XrtProbe probe(Path bitstreamDir) {
        return probe(null, bitstreamDir.resolve("manifest.json"));
    }

    /** Probes for {@code explicitLibrary} (or the lookup order when null) and the manifest at {@code manifest}. */
    public static XrtProbe probe(String explicitLibrary, Path manifest) {
        Optional<Path> lib = XrtLibraries.find(explicitLibrary);
        boolean software = lib.isPresent() && !lib.get().getFileName().toString().startsWith("libxrt_coreutil") && XrtAccelerator.isSoftwareDevice(lib.get());
        Optional<Path> dev = software ? Optional.of(SOFTWARE)
                : firstEntry(Path.of("/sys/bus/pci/drivers/xocl"), p -> p.getFileName().toString().matches("[0-9a-f]{4}:.*"));
        Optional<Path> bit = Optional.empty();
        if (Files.isRegularFile(manifest)) {
            try {
                for (BitstreamManifest.Entry e : BitstreamManifest.read(manifest).entries())
                    if (e.target().equals(software ? "sw_emu" : "hw") && Files.isRegularFile(e.path())) { bit = Optional.of(e.path()); break; }
            } catch (IOException | IllegalArgumentException e) {
                bit = Optional.empty();
            }
        }
        return new XrtProbe(lib, dev, bit);
    }

    private static Optional<Path> firstEntry(Path dir, java.util.function.Predicate<Path> keep) {
        if (!Files.isDirectory(dir)) return Optional.empty();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(keep).sorted().findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public boolean complete() {
        return library.isPresent() && device.isPresent() && bitstream.isPresent();
    }

    public boolean software() {
        return device.isPresent() && device.get().equals(SOFTWARE);
    }

    /** The first missing piece as a phrase, e.g. "no XRT runtime (libxrt_coreutil.so not found ...)". */
    public String missing() {
        if (library.isEmpty()) return "no XRT runtime (" + LIBRARY + " not found in $XILINX_XRT/lib, jna.library.path or /opt/xilinx/xrt/lib; --xrt-library or " + XrtLibraries.ENV + " names one)";
        if (device.isEmpty()) return "no Alveo card (no device bound to the xocl driver)";
        if (bitstream.isEmpty()) return "no bitstream (.xclbin) of the manifest for " + (software() ? "the software device (sw_emu): run make -C hls swdevice" : "a card (hw)");
        return "nothing";
    }
}
