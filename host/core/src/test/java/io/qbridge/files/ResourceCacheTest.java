package io.qbridge.files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.onnx.OnnxGraph;
import io.qbridge.protocol.onnx.Onnx;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class ResourceCacheTest {
    /** A small resource in the same jar as the ONNX file (the cache treats every jar entry alike). */
    private static final String SMALL = EncoderModel.Builtin.MINILM.tokenizerResource;

    @TempDir Path tmp;
    @RegisterExtension final CacheProperty cache = new CacheProperty();

    @BeforeEach
    void useTempCache() {
        cache.set(tmp.resolve("cache").toString());
    }

    private static byte[] fromJar(String name) throws IOException {
        try (InputStream in = EncoderModel.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        }
    }

    private Path onlyEntry() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("cache").resolve("resources"))) {
            List<Path> entries = s.toList();
            assertEquals(1, entries.size(), entries.toString());
            return entries.get(0);
        }
    }

    @Test
    void firstReadFillsTheCacheAndTheSecondReadsItBackUnchanged() throws IOException {
        byte[] jar = fromJar(SMALL);
        assertArrayEquals(jar, ResourceCache.read(EncoderModel.class, SMALL));
        Path entry = onlyEntry();
        assertArrayEquals(jar, Files.readAllBytes(entry));
        long written = Files.getLastModifiedTime(entry).toMillis();
        assertArrayEquals(jar, ResourceCache.read(EncoderModel.class, SMALL));
        assertEquals(written, Files.getLastModifiedTime(onlyEntry()).toMillis(), "an intact entry is read, not rewritten");
    }

    @Test
    void aCorruptEntryIsRefusedAndRebuilt() throws IOException {
        byte[] jar = fromJar(SMALL);
        ResourceCache.read(EncoderModel.class, SMALL);
        Path entry = onlyEntry();
        byte[] bad = jar.clone();
        bad[bad.length / 2] ^= 0x10; // same size, one bit off: only the checksum can tell
        Files.write(entry, bad);
        assertArrayEquals(jar, ResourceCache.read(EncoderModel.class, SMALL));
        assertArrayEquals(jar, Files.readAllBytes(onlyEntry()));
    }

    @Test
    void aTruncatedEntryIsRefusedAndRebuilt() throws IOException {
        byte[] jar = fromJar(SMALL);
        ResourceCache.read(EncoderModel.class, SMALL);
        Path entry = onlyEntry();
        Files.write(entry, java.util.Arrays.copyOf(jar, jar.length / 3));
        assertArrayEquals(jar, ResourceCache.read(EncoderModel.class, SMALL));
        assertArrayEquals(jar, Files.readAllBytes(onlyEntry()));
    }

    @Test
    void aCacheThatCannotBeWrittenLeavesTheResourceReadFromItsJar() throws IOException {
        Files.writeString(tmp.resolve("cache"), "a file where the cache folder would go");
        assertArrayEquals(fromJar(SMALL), ResourceCache.read(EncoderModel.class, SMALL));
        cache.set("off");
        assertArrayEquals(fromJar(SMALL), ResourceCache.read(EncoderModel.class, SMALL));
    }

    @Test
    void theModelReadThroughTheCacheEqualsTheModelInflatedFromItsJarInEveryTensor() throws IOException {
        EncoderModel.Builtin b = EncoderModel.Builtin.MINILM;
        byte[] jar = fromJar(b.onnxResource);
        byte[] filled = EncoderModel.onnxBytes(b); // inflated from the jar, written to the cache
        byte[] cached = EncoderModel.onnxBytes(b); // read back from the cache
        assertTrue(Files.size(onlyEntry()) == jar.length);
        assertArrayEquals(jar, filled);
        assertArrayEquals(jar, cached);
        List<Onnx.TensorProto> old = OnnxGraph.parse(jar, "jar").initializerList();
        List<Onnx.TensorProto> now = OnnxGraph.parse(cached, "cache").initializerList();
        assertEquals(old.size(), now.size());
        for (int i = 0; i < old.size(); i++) assertEquals(old.get(i), now.get(i), old.get(i).getName());
    }

    private static String sha256(byte[] b) throws java.security.NoSuchAlgorithmException {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    private Path digestFile() throws IOException {
        return Path.of(onlyEntry() + ".sha256");
    }

    @Test
    void theDigestIsKeptBesideTheEntryAndReadBackFromThere() throws Exception {
        byte[] bytes = ResourceCache.read(EncoderModel.class, SMALL);
        assertEquals(sha256(bytes), ResourceCache.sha256(EncoderModel.class, SMALL, bytes));
        Path kept;
        try (Stream<Path> s = Files.list(tmp.resolve("cache").resolve("resources"))) {
            kept = s.filter(p -> p.toString().endsWith(".sha256")).findFirst().orElseThrow();
        }
        assertEquals(sha256(bytes), Files.readString(kept));
        // what a later process gets is what the file says (a stand-in digest shows it was read, not recomputed)
        String standIn = "0".repeat(64);
        Files.writeString(kept, standIn);
        assertEquals(standIn, ResourceCache.sha256(EncoderModel.class, SMALL, bytes));
    }

    @Test
    void aDigestFileThatIsNotADigestIsRecomputedAndRewritten() throws Exception {
        byte[] bytes = ResourceCache.read(EncoderModel.class, SMALL);
        Path entry = onlyEntry();
        Path kept = Path.of(entry + ".sha256");
        for (String bad : new String[] {"", "not a digest", sha256(bytes).substring(1), sha256(bytes).toUpperCase(java.util.Locale.ROOT)}) {
            Files.writeString(kept, bad);
            assertEquals(sha256(bytes), ResourceCache.sha256(EncoderModel.class, SMALL, bytes), "file held '" + bad + "'");
            assertEquals(sha256(bytes), Files.readString(kept));
        }
    }

    @Test
    void bytesThatAreNotTheJarEntrysAreHashedAndNeverRemembered() throws Exception {
        byte[] bytes = ResourceCache.read(EncoderModel.class, SMALL);
        byte[] other = bytes.clone();
        other[other.length / 2] ^= 0x10; // same size, another CRC
        assertEquals(sha256(other), ResourceCache.sha256(EncoderModel.class, SMALL, other));
        assertTrue(Files.notExists(digestFile()), "a digest of other bytes must not be kept as the resource's");
        assertEquals(sha256(bytes), ResourceCache.sha256(EncoderModel.class, SMALL, bytes));
        assertEquals(sha256(other), ResourceCache.sha256(EncoderModel.class, SMALL, other), "the kept digest is only for the entry's own bytes");
        cache.set("off");
        assertEquals(sha256(bytes), ResourceCache.sha256(EncoderModel.class, SMALL, bytes));
    }

    @Test
    void readFullyReadsStreamsWhoseAvailableIsShortLongOrZero() throws IOException {
        byte[] data = new byte[100_000];
        new java.util.SplittableRandom(3).nextBytes(data);
        for (int claimed : new int[] {0, 1, 4096, data.length, data.length + 7}) {
            InputStream in = new ByteArrayInputStream(data) {
                @Override
                public synchronized int available() {
                    return claimed;
                }
            };
            assertArrayEquals(data, ResourceCache.readFully(in), "available() = " + claimed);
        }
    }
}
