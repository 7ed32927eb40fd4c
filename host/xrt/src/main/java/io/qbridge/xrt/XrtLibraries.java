package io.qbridge.xrt;

import com.sun.jna.Native;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where the XRT C library is looked for, in order: an explicit path ({@code --xrt-library PATH}, else the
 * environment variable {@code QBRIDGE_XRT_LIBRARY}), then {@code libxrt_coreutil.so} and {@code .so.2} in
 * {@code $XILINX_XRT/lib}, in each directory of the {@code jna.library.path} property, and in
 * {@code /opt/xilinx/xrt/lib}. The library is loaded from where it was found: XRT loads its driver shim from
 * its own directory, so it must not be copied elsewhere.
 */
public final class XrtLibraries {
    public static final String ENV = "QBRIDGE_XRT_LIBRARY";
    public static final List<String> NAMES = List.of("libxrt_coreutil.so", "libxrt_coreutil.so.2");

    private XrtLibraries() {}

    /** The places searched, in order, for messages. */
    public static List<Path> candidates(String explicit, Map<String, String> env, String jnaLibraryPath) {
        List<Path> out = new ArrayList<>();
        String chosen = explicit != null && !explicit.isBlank() ? explicit : env.get(ENV);
        if (chosen != null && !chosen.isBlank()) return List.of(Path.of(chosen));
        List<Path> dirs = new ArrayList<>();
        String xrt = env.get("XILINX_XRT");
        if (xrt != null && !xrt.isBlank()) dirs.add(Path.of(xrt, "lib"));
        if (jnaLibraryPath != null) for (String d : jnaLibraryPath.split(java.io.File.pathSeparator)) if (!d.isBlank()) dirs.add(Path.of(d));
        dirs.add(Path.of("/opt/xilinx/xrt/lib"));
        for (Path d : dirs) for (String n : NAMES) out.add(d.resolve(n));
        return out;
    }

    /** The first candidate that exists, or empty. */
    public static Optional<Path> find(String explicit) {
        return find(explicit, System.getenv(), System.getProperty("jna.library.path"));
    }

    public static Optional<Path> find(String explicit, Map<String, String> env, String jnaLibraryPath) {
        for (Path p : candidates(explicit, env, jnaLibraryPath)) if (Files.isRegularFile(p)) return Optional.of(p.toAbsolutePath());
        return Optional.empty();
    }

    /** Why nothing was found, as one phrase naming the places searched. */
    public static String notFound(String explicit, Map<String, String> env, String jnaLibraryPath) {
        String chosen = explicit != null && !explicit.isBlank() ? explicit : env.get(ENV);
        if (chosen != null && !chosen.isBlank())
            return "no XRT library at " + chosen + (explicit != null && !explicit.isBlank() ? " (--xrt-library)" : " (" + ENV + ")");
        return "no XRT runtime (libxrt_coreutil.so or .so.2 not found in $XILINX_XRT/lib, jna.library.path or /opt/xilinx/xrt/lib)";
    }

    /** Loads the library at {@code path} with the {@link XrtLibrary} mapping; an {@link XrtException} when it cannot be loaded or lacks a symbol. */
    public static XrtLibrary load(Path path) {
        XrtLibrary lib;
        try {
            lib = Native.load(path.toAbsolutePath().toString(), XrtLibrary.class);
        } catch (UnsatisfiedLinkError e) {
            throw new XrtException("dlopen(\"" + path + "\")", "the library cannot be loaded: " + firstLine(e.getMessage()));
        }
        // JNA resolves symbols lazily: check every function now, so a library without one fails here, not mid-run
        com.sun.jna.NativeLibrary nl = com.sun.jna.NativeLibrary.getInstance(path.toAbsolutePath().toString());
        for (java.lang.reflect.Method m : XrtLibrary.class.getMethods()) {
            if (m.getDeclaringClass() != XrtLibrary.class || java.lang.reflect.Modifier.isStatic(m.getModifiers())) continue;
            try {
                nl.getFunction(m.getName());
            } catch (UnsatisfiedLinkError e) {
                throw new XrtException("dlsym(\"" + path + "\", \"" + m.getName() + "\")", "the library does not export the C function " + m.getName() + " (not an XRT library?)");
            }
        }
        return lib;
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
