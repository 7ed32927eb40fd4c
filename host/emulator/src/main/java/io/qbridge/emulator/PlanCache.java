package io.qbridge.emulator;

import io.qbridge.files.OutputFiles;
import io.qbridge.files.Sha256;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * The INT16 plans of loaded layers kept on disk, so that loading the same packed layer again skips its decode and
 * plan ({@link WeightDecoder}, {@link Int16Plan#of}): 0.6 s of a fresh {@code qbridge run} on MiniLM, more than its
 * container's read. Only speed: a plan read back is the plan the layer's bytes give (the same arrays, checked in the
 * tests), and every kernel computes from it exactly as from a fresh one.
 *
 * <p>An entry is named by the SHA-256 of the packed layer (its format, shape and bytes) and of the code that plans it
 * ({@link #codeVersion}: the emulator's and the formats' class files), so a changed layer or a rebuilt emulator never
 * reads an old plan. An entry is read only whole: its magic, its own name inside, its length and its CRC-32 must all
 * match, else it is ignored and deleted (then planned again and rewritten). Entries are written through a temporary
 * file and renamed; when the folder cannot be written the layer is planned as before. A read entry's modification time
 * is set to now, and after a write the least recently used entries are deleted while the folder holds more than
 * {@code maxBytes} (about 2 bytes a weight are kept: 27 MB for MiniLM).
 */
public final class PlanCache {
    private static final byte[] MAGIC = "QBPLAN\u0001\u0000".getBytes(StandardCharsets.ISO_8859_1);
    /** The default bound on the folder's size. */
    public static final long DEFAULT_MAX_BYTES = 1L << 30;

    private final Path dir;
    private final long maxBytes;
    private final java.util.concurrent.atomic.AtomicInteger hits = new java.util.concurrent.atomic.AtomicInteger(),
            writes = new java.util.concurrent.atomic.AtomicInteger();

    /** Entries in {@code dir} (created when first written), at most about {@code maxBytes} of them. */
    public PlanCache(Path dir, long maxBytes) {
        if (dir == null) throw new IllegalArgumentException("plan cache folder is null");
        if (maxBytes <= 0) throw new IllegalArgumentException("plan cache size must be positive, got " + maxBytes);
        this.dir = dir;
        this.maxBytes = maxBytes;
    }

    public PlanCache(Path dir) {
        this(dir, DEFAULT_MAX_BYTES);
    }

    public Path dir() {
        return dir;
    }

    /** Layers whose plan was read back, in this process. */
    public int hits() {
        return hits.get();
    }

    /** Plans written, in this process. */
    public int writes() {
        return writes.get();
    }

    /** What a hit gives the device: the layer's decoded shape and scales (no integers) and its plan. */
    record Entry(DecodedWeights header, Int16Plan plan) {}

    /**
     * The cached plan of {@code p}, whose {@link #key} is {@code key}, or null when there is none (or none that reads
     * back whole, or the key is null).
     */
    Entry read(String key, PackedTensor p) {
        if (key == null) return null;
        Path file = dir.resolve(key + ".plan");
        byte[] bytes;
        try {
            if (Files.size(file) > Integer.MAX_VALUE) return invalid(file); // no plan this class writes
            bytes = Files.readAllBytes(file);
        } catch (IOException | SecurityException absent) {
            return null;
        }
        if (bytes.length < MAGIC.length + 32 + 8) return invalid(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, b.limit() - 8);
        if (crc.getValue() != b.getLong(b.limit() - 8)) return invalid(file);
        try {
            byte[] magic = new byte[MAGIC.length], name = new byte[32];
            b.get(magic).get(name);
            if (!java.util.Arrays.equals(magic, MAGIC) || !HEX.formatHex(name).equals(key)) return invalid(file);
            Entry e = decode(b, p);
            if (b.position() != b.limit() - 8) return invalid(file);
            hits.incrementAndGet();
            touch(file);
            return e;
        } catch (RuntimeException malformed) {
            return invalid(file);
        }
    }

    /**
     * Keeps {@code plan}, made from {@code d}, the decode of the layer whose {@link #key} is {@code key}; false when the
     * folder cannot be written (or the key is null).
     */
    boolean write(String key, DecodedWeights d, Int16Plan plan) {
        if (key == null) return false;
        byte[] bytes = encode(HEX.parseHex(key), d, plan);
        try {
            OutputFiles.write(dir.resolve(key + ".plan"), bytes);
            writes.incrementAndGet();
            prune();
            return true;
        } catch (IOException | UncheckedIOException | SecurityException e) {
            return false; // only speed: the next process plans the layer again
        }
    }

    private static void touch(Path file) {
        try {
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException | SecurityException ignored) {
            // its age only decides when it is pruned
        }
    }

    /** Deletes the least recently used entries while the folder holds more than {@code maxBytes}. */
    private synchronized void prune() throws IOException {
        record Kept(Path file, long size, long used) {}
        List<Kept> kept = new ArrayList<>();
        long total = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files.filter(f -> f.getFileName().toString().endsWith(".plan"))::iterator) {
                try {
                    var a = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class);
                    kept.add(new Kept(f, a.size(), a.lastModifiedTime().toMillis()));
                    total += a.size();
                } catch (IOException gone) {
                    // deleted by another process meanwhile
                }
            }
        }
        if (total <= maxBytes) return;
        kept.sort(java.util.Comparator.comparingLong(Kept::used));
        for (Kept k : kept) {
            if (total <= maxBytes) break;
            Files.deleteIfExists(k.file());
            total -= k.size();
        }
    }

    private static final java.util.HexFormat HEX = java.util.HexFormat.of();

    private static Entry invalid(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException | SecurityException ignored) {
            // written over when the layer is planned again
        }
        return null;
    }

    /**
     * The entry's name: SHA-256 of the planning code's version, the format, the shape and the packed bytes; null when
     * the code's version is unknown (then nothing is read or kept).
     */
    static String key(PackedTensor p) {
        byte[] code = codeVersion();
        if (code.length == 0) return null;
        MessageDigest md = Sha256.digest();
        md.update(code);
        md.update((p.format().id() + "\n" + p.n() + "x" + p.k() + "\n").getBytes(StandardCharsets.UTF_8));
        md.update(p.bytes());
        return HEX.formatHex(md.digest());
    }

    // ---- the file: magic, key, header, plan, CRC-32 of everything before it (little-endian) ----

    private static byte[] encode(byte[] key, DecodedWeights d, Int16Plan pl) {
        Int16Plan.Sparse sp = pl.sparse();
        long size = MAGIC.length + key.length + 4L * 3 + 8L * 3 + 4L * 3 + 4
                + arrayBytes(d.scale(), 8) + arrayBytes(d.zero(), 8) + 2L * pl.w().length + arrayBytes(pl.shifts(), 4) + arrayBytes(pl.groupScale(), 8)
                + (sp == null ? 0 : 4 + arrayBytes(sp.start(), 4) + arrayBytes(sp.col(), 4) + arrayBytes(sp.n(), 4) + arrayBytes(sp.value(), 4)) + 8;
        if (size > Integer.MAX_VALUE) throw new IllegalArgumentException("plan of " + size + " bytes is too large to cache");
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put(key);
        b.putInt(d.n()).putInt(d.k()).putInt(d.blockSize()).putLong(d.maxBlockL1()).putLong(d.outliers()).putLong(d.pulses());
        b.putInt(pl.chunk()).putInt(pl.unit()).putInt(pl.group());
        b.putInt((d.zero() != null ? 1 : 0) | (pl.shifts() != null ? 2 : 0) | (sp != null ? 4 : 0));
        putDoubles(b, d.scale());
        if (d.zero() != null) putDoubles(b, d.zero());
        b.asShortBuffer().put(pl.w());
        b.position(b.position() + 2 * pl.w().length);
        if (pl.shifts() != null) putInts(b, pl.shifts());
        putDoubles(b, pl.groupScale());
        if (sp != null) {
            b.putInt(sp.slabs());
            putInts(b, sp.start());
            putInts(b, sp.col());
            putInts(b, sp.n());
            putInts(b, sp.value());
        }
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, b.position());
        b.putLong(crc.getValue());
        return b.array();
    }

    private static Entry decode(ByteBuffer b, PackedTensor p) {
        int n = b.getInt(), k = b.getInt(), bs = b.getInt();
        long maxL1 = b.getLong(), outliers = b.getLong(), pulses = b.getLong();
        int chunk = b.getInt(), unit = b.getInt(), group = b.getInt(), flags = b.getInt();
        if (n != p.n() || k != p.k() || bs <= 0 || chunk <= 0 || unit <= 0 || group <= 0 || (flags & ~7) != 0)
            throw new IllegalArgumentException("header does not fit the layer");
        double[] scale = getDoubles(b);
        double[] zero = (flags & 1) != 0 ? getDoubles(b) : null;
        short[] w = new short[Int16Plan.planeLength(n, k)];
        b.asShortBuffer().get(w);
        b.position(b.position() + 2 * w.length);
        int[] shifts = (flags & 2) != 0 ? getInts(b) : null;
        double[] groupScale = getDoubles(b);
        Int16Plan.Sparse sp = null;
        if ((flags & 4) != 0) {
            int slabs = b.getInt();
            sp = new Int16Plan.Sparse(slabs, getInts(b), getInts(b), getInts(b), getInts(b));
        }
        DecodedWeights header = new DecodedWeights(p.format(), n, k, bs, null, scale, zero, maxL1, outliers, pulses);
        return new Entry(header, new Int16Plan(w, sp, chunk, unit, group, shifts, groupScale));
    }

    private static long arrayBytes(Object a, int width) {
        return a == null ? 0 : 4 + (long) width * java.lang.reflect.Array.getLength(a);
    }

    private static void putDoubles(ByteBuffer b, double[] a) {
        b.putInt(a.length);
        b.asDoubleBuffer().put(a);
        b.position(b.position() + 8 * a.length);
    }

    private static void putInts(ByteBuffer b, int[] a) {
        b.putInt(a.length);
        b.asIntBuffer().put(a);
        b.position(b.position() + 4 * a.length);
    }

    private static double[] getDoubles(ByteBuffer b) {
        double[] a = new double[b.getInt()];
        b.asDoubleBuffer().get(a);
        b.position(b.position() + 8 * a.length);
        return a;
    }

    private static int[] getInts(ByteBuffer b) {
        int[] a = new int[b.getInt()];
        b.asIntBuffer().get(a);
        b.position(b.position() + 4 * a.length);
        return a;
    }

    // ---- the planning code's version ----

    private static volatile byte[] codeVersion;

    /**
     * A digest of the code that decodes and plans a layer: for the emulator's and the formats' code (a jar, or a folder
     * of class files in a build), the name, size and modification time of the jar or of each class file. A rebuild
     * changes it, so a plan made by other code is never read. Empty when a code source cannot be stamped.
     */
    static byte[] codeVersion() {
        byte[] v = codeVersion;
        if (v == null) {
            try {
                MessageDigest md = Sha256.digest();
                for (Class<?> c : List.of(Int16Plan.class, QuantFormat.class)) md.update(codeSource(c).getBytes(StandardCharsets.UTF_8));
                v = md.digest();
            } catch (Exception unknown) {
                v = new byte[0]; // no code source to stamp (not a file or folder): nothing is kept
            }
            codeVersion = v;
        }
        return v;
    }

    private static String codeSource(Class<?> c) throws Exception {
        Path p = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (Files.isRegularFile(p)) return stamp(p, p);
        List<String> stamps = new ArrayList<>();
        try (Stream<Path> files = Files.walk(p)) {
            for (Path f : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class")).sorted()::iterator) stamps.add(stamp(p, f));
        }
        return String.join("\n", stamps);
    }

    private static String stamp(Path root, Path f) throws IOException {
        return root.relativize(f) + " " + Files.size(f) + " " + Files.getLastModifiedTime(f).toMillis() + " " + f.getFileName();
    }
}
