package io.qbridge.xrt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The software device for tests: built through {@code make -C hls swdevice} once per JVM (so the Maven build
 * compiles it, and a missing compiler fails the tests rather than skipping them), then found in hls/build/.
 */
public final class SwDevice {
    private static Path root;

    private SwDevice() {}

    /** The repository root (the directory holding hls/swdevice). */
    public static synchronized Path root() {
        if (root != null) return root;
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("hls/swdevice/swdevice.mk"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("hls/swdevice/swdevice.mk not found above " + Path.of("").toAbsolutePath());
        root = p;
        return p;
    }

    private static boolean built;

    /** Builds the library and xclbin (make is incremental) and returns the library's path. */
    public static synchronized Path library() {
        Path r = root();
        if (!built) {
            try {
                Path hls = r.resolve("hls");
                boolean own = Files.isRegularFile(hls.resolve("Makefile"));
                ProcessBuilder pb = own ? new ProcessBuilder("make", "-C", hls.toString(), "swdevice")
                        : new ProcessBuilder("make", "-C", hls.toString(), "-f", "swdevice/swdevice.mk", "swdevice");
                Process proc = pb.redirectErrorStream(true).start();
                String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (proc.waitFor() != 0) throw new IllegalStateException("make -C hls swdevice failed:\n" + out);
            } catch (IOException e) {
                throw new IllegalStateException("cannot run make for the software device: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            built = true;
        }
        return r.resolve("hls/build/libqbridge_swdevice.so");
    }

    public static Path xclbin() {
        library();
        return root().resolve("hls/build/qbridge_swdevice.xclbin");
    }

    public static Path manifest() {
        return root().resolve("fpga-bitstreams/manifest.json");
    }

    static XrtLibrary load() {
        return XrtLibraries.load(library());
    }
}
