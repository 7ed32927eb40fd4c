package io.qbridge.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What an XRT device needs, looked up without loading anything: the XRT core library
 * ({@code libxrt_coreutil.so}, from {@code $XILINX_XRT/lib}, {@code /opt/xilinx/xrt/lib} or
 * {@code LD_LIBRARY_PATH}), an Alveo card bound to the {@code xocl} driver, and an {@code .xclbin} bitstream.
 *
 * @param library   the library found, if any
 * @param device    the card's sysfs path, if any
 * @param bitstream the first {@code .xclbin} in the bitstream directory, if any
 */
public record XrtProbe(Optional<Path> library, Optional<Path> device, Optional<Path> bitstream) {
    public static final String LIBRARY = "libxrt_coreutil.so";

    /** Probes the standard places; {@code bitstreamDir} is where the project's .xclbin files live. */
    public static XrtProbe probe(Path bitstreamDir) {
        List<Path> libDirs = new ArrayList<>();
        String xrt = System.getenv("XILINX_XRT");
        if (xrt != null) libDirs.add(Path.of(xrt, "lib"));
        libDirs.add(Path.of("/opt/xilinx/xrt/lib"));
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String d : ld.split(":")) if (!d.isBlank()) libDirs.add(Path.of(d));
        Optional<Path> lib = Optional.empty();
        for (Path d : libDirs) {
            for (String name : List.of(LIBRARY, LIBRARY + ".2")) {
                Path p = d.resolve(name);
                if (Files.isRegularFile(p)) { lib = Optional.of(p); break; }
            }
            if (lib.isPresent()) break;
        }
        Optional<Path> dev = firstEntry(Path.of("/sys/bus/pci/drivers/xocl"), p -> p.getFileName().toString().matches("[0-9a-f]{4}:.*"));
        Optional<Path> bit = bitstreamDir == null ? Optional.empty() : firstEntry(bitstreamDir, p -> p.toString().endsWith(".xclbin"));
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

    /** The first missing piece as a phrase, e.g. "no XRT runtime (libxrt_coreutil.so not found)". */
    public String missing() {
        if (library.isEmpty()) return "no XRT runtime (" + LIBRARY + " not found in $XILINX_XRT/lib, /opt/xilinx/xrt/lib or LD_LIBRARY_PATH)";
        if (device.isEmpty()) return "no Alveo card (no device bound to the xocl driver)";
        if (bitstream.isEmpty()) return "no bitstream (.xclbin) in the bitstream directory";
        return "nothing";
    }
}
