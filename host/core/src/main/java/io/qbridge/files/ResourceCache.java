package io.qbridge.files;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.jar.JarEntry;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * Large classpath resources (the built-in models' 91-133 MB ONNX files) kept inflated in the user's cache
 * directory, so a fresh process reads them as plain files instead of inflating them out of their jar each time
 * (about 0.5 s for all-MiniLM-L6-v2: BENCHMARKS.md §1b), with their SHA-256 beside them ({@link #sha256}).
 *
 * <p>A cache entry is named by the resource, its jar entry's CRC-32 and its size, so another version of the jar
 * never reads an old entry; it is used only when its size and its CRC-32 (computed over the bytes read, against
 * the jar's own checksum for that entry) both match, and is otherwise rewritten from the jar. Entries are written
 * through a temporary file and renamed, so a crash leaves none half-written. The cache is only speed: when it
 * cannot be written (a read-only home, a full disk) the resource is read from the jar as before.
 *
 * <p>Where: the {@code qbridge.cache} system property, else {@code $XDG_CACHE_HOME/qbridge}, else
 * {@code ~/.cache/qbridge}; entries go in its {@code resources} folder. {@code -Dqbridge.cache=off} turns the
 * cache off.
 */
public final class ResourceCache {
    private ResourceCache() {}

    /** The cache's folder, or null when it is turned off. */
    public static Path dir() {
        String p = System.getProperty("qbridge.cache");
        if (p != null && !p.isBlank()) return p.equals("off") ? null : Path.of(p);
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) return Path.of(xdg, "qbridge");
        return Path.of(System.getProperty("user.home"), ".cache", "qbridge");
    }

    /**
     * All bytes of the classpath resource {@code name} (as {@link Class#getResourceAsStream}, relative to
     * {@code anchor}), or null when there is none. A resource in a jar is served from the cache when a valid entry
     * is there, and put there otherwise; any other resource is read directly.
     */
    public static byte[] read(Class<?> anchor, String name) throws IOException {
        URL url = anchor.getResource(name);
        if (url == null) return null;
        Path dir = dir();
        if (dir == null || !url.getProtocol().equals("jar")) return readFrom(url);
        JarURLConnection c = (JarURLConnection) url.openConnection();
        JarEntry e = c.getJarEntry();
        long size = e.getSize(), crc = e.getCrc();
        if (size < 0 || crc < 0 || size > Integer.MAX_VALUE - 8) return readFrom(url);
        Path entry = entry(dir, name, e);
        byte[] cached = readValid(entry, (int) size, crc);
        if (cached != null) return cached;
        byte[] bytes = readFrom(url);
        if (bytes.length == size && crc32(bytes) == crc) {
            try {
                OutputFiles.write(entry, bytes);
            } catch (IOException | UncheckedIOException | SecurityException ignored) {
                // only speed: the next process inflates the jar again
            }
        }
        return bytes;
    }

    /**
     * The SHA-256 (lower-case hex) of {@code bytes}, the resource {@code name} as {@link #read} returned it. A fresh
     * process would otherwise hash a 91-133 MB model on every load of a container (0.3-0.4 s, BENCHMARKS.md §1b), so
     * the digest is kept beside the resource's cache entry, named as the entry is (by the jar entry's CRC-32 and size)
     * with {@code .sha256} after, and read back from there. It is written only from bytes whose size and CRC-32 are
     * the jar entry's, and used only while they are; otherwise (not a jar resource, the cache off or unwritable) it
     * is computed from {@code bytes} each time.
     */
    public static String sha256(Class<?> anchor, String name, byte[] bytes) throws IOException {
        Path digestFile = null;
        URL url = anchor.getResource(name);
        Path dir = dir();
        if (url != null && dir != null && url.getProtocol().equals("jar")) {
            JarEntry e = ((JarURLConnection) url.openConnection()).getJarEntry();
            if (e.getSize() == bytes.length && e.getCrc() >= 0 && crc32(bytes) == e.getCrc()) digestFile = Path.of(entry(dir, name, e) + ".sha256");
        }
        if (digestFile != null) {
            try {
                String kept = Files.readString(digestFile, StandardCharsets.US_ASCII);
                if (SHA256_HEX.matcher(kept).matches()) return kept;
            } catch (IOException | UncheckedIOException | SecurityException absent) {
                // computed and written below
            }
        }
        String hex = Sha256.hex(bytes);
        if (digestFile != null) {
            try {
                OutputFiles.write(digestFile, hex.getBytes(StandardCharsets.US_ASCII));
            } catch (IOException | UncheckedIOException | SecurityException ignored) {
                // only speed: the next process hashes the bytes again
            }
        }
        return hex;
    }

    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    /** The cache entry of the jar entry {@code e} of resource {@code name}. */
    private static Path entry(Path dir, String name, JarEntry e) {
        String base = name.substring(name.lastIndexOf('/') + 1);
        return dir.resolve("resources").resolve(base + "." + String.format(Locale.ROOT, "%08x", e.getCrc()) + "-" + e.getSize());
    }

    /** The entry's bytes when it has exactly {@code size} bytes whose CRC-32 is {@code crc}; else null (a bad entry is deleted). */
    static byte[] readValid(Path entry, int size, long crc) {
        try (FileChannel ch = FileChannel.open(entry, StandardOpenOption.READ)) {
            if (ch.size() != size) return invalid(entry);
            byte[] bytes = new byte[size];
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) return invalid(entry);
            }
            return crc32(bytes) == crc ? bytes : invalid(entry);
        } catch (IOException | SecurityException e) {
            return null; // absent or unreadable: read from the jar
        }
    }

    private static byte[] invalid(Path entry) {
        try {
            Files.deleteIfExists(entry);
        } catch (IOException | SecurityException ignored) {
            // rewritten over by the caller, or read from the jar again next time
        }
        return null;
    }

    static long crc32(byte[] bytes) {
        CRC32 c = new CRC32();
        c.update(bytes);
        return c.getValue();
    }

    /**
     * All bytes at {@code url}. A jar entry's stream knows its inflated size ({@code available()}), so a large
     * entry is inflated straight into one array of that size instead of into small chunks that
     * {@link InputStream#readAllBytes} then copies together; a stream that says less (or more) is still read whole.
     */
    private static byte[] readFrom(URL url) throws IOException {
        try (InputStream in = url.openStream()) {
            return readFully(in);
        }
    }

    /** All bytes of {@code in}, into one array of {@code in.available()} bytes when that is the whole stream. */
    public static byte[] readFully(InputStream in) throws IOException {
        int hint = in.available();
        if (hint <= 0) return in.readAllBytes();
        byte[] head = new byte[hint];
        int n = in.readNBytes(head, 0, hint);
        if (n < hint) return Arrays.copyOf(head, n);
        byte[] rest = in.readAllBytes();
        if (rest.length == 0) return head;
        byte[] all = Arrays.copyOf(head, Math.addExact(hint, rest.length));
        System.arraycopy(rest, 0, all, hint, rest.length);
        return all;
    }
}
