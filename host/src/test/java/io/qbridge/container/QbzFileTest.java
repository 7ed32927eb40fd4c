package io.qbridge.container;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.ModelFormatException;
import io.qbridge.quant.Rtn;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QbzFileTest {
    @TempDir Path dir;

    private static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (r.nextGaussian() * 0.05);
        return w;
    }

    private List<QbzEntry> entries() {
        QuantFormat f1 = QuantFormat.parse("microscopiq-w4"), f2 = QuantFormat.parse("fineq");
        PackedTensor a = f1.pack(Rtn.quantizeRtn(f1, gaussian(48 * 64, 1), 48, 64));
        PackedTensor b = f2.pack(Rtn.quantizeRtn(f2, gaussian(32 * 129, 2), 32, 129));
        return List.of(new QbzEntry.Packed("layer.0.weight", a), new QbzEntry.Floats("layer.0.bias", gaussian(48, 3), new long[] {48}),
                new QbzEntry.Packed("layer.1.weight", b));
    }

    private Path written() throws Exception {
        Path p = dir.resolve("m.qbz");
        QbzFile.write(p, "bge-small", "ab".repeat(32), "mixed", Map.of("algorithm", "rtn"), entries());
        return p;
    }

    @Test
    void roundTripIsExactAndAligned() throws Exception {
        Path p = written();
        QbzFile f = QbzFile.open(p);
        List<QbzEntry> in = entries();
        assertEquals(List.of("layer.0.weight", "layer.0.bias", "layer.1.weight"), f.tensorNames());
        assertEquals(((QbzEntry.Packed) in.get(0)).tensor(), f.packed("layer.0.weight"));
        assertEquals(((QbzEntry.Packed) in.get(2)).tensor(), f.packed("layer.1.weight"));
        assertArrayEquals(((QbzEntry.Floats) in.get(1)).values(), f.floats("layer.0.bias"));
        assertEquals("bge-small", f.manifest().model());
        assertEquals("rtn", f.manifest().settings().get("algorithm"));
        for (QbzManifest.Tensor t : f.manifest().tensors()) assertEquals(0, t.offset() % 64, t.name());
        assertEquals(Files.size(p), f.manifest().fileLength());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(p), s.toList(), "no temporary files left behind");
        }
    }

    private ModelFormatException corrupt(byte[] bytes) throws Exception {
        Path bad = dir.resolve("bad.qbz");
        Files.write(bad, bytes);
        return assertThrows(ModelFormatException.class, () -> QbzFile.open(bad));
    }

    @Test
    void truncatedFileIsRejected() throws Exception {
        byte[] b = Files.readAllBytes(written());
        ModelFormatException e = corrupt(Arrays.copyOf(b, b.length - 10));
        assertTrue(e.getMessage().contains("(truncated)"), e.getMessage());
        e = corrupt(Arrays.copyOf(b, 40));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void badMagicIsRejected() throws Exception {
        byte[] b = Files.readAllBytes(written());
        b[1] = 'X';
        assertTrue(corrupt(b).getMessage().endsWith("bad magic: not a .qbz container"));
    }

    @Test
    void flippedTensorByteFailsChecksum() throws Exception {
        byte[] b = Files.readAllBytes(written());
        QbzFile f = QbzFile.open(dir.resolve("m.qbz"));
        long off = f.manifest().tensors().get(2).offset();
        b[(int) off + 5] ^= 0x10;
        assertTrue(corrupt(b).getMessage().contains("'layer.1.weight' fails its sha256 check"));
    }

    @Test
    void manifestShapeMismatchIsRejected() throws Exception {
        byte[] b = Files.readAllBytes(written());
        String s = new String(b, StandardCharsets.ISO_8859_1);
        // same number of characters, so the layout stays valid and only the shape is wrong
        String edited = s.replaceFirst("\"shape\" : \\[ 48, 64 \\]", "\"shape\" : [ 48, 32 ]");
        assertFalse(edited.equals(s), "test edit applied");
        ModelFormatException e = corrupt(edited.getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(e.getMessage().contains("'layer.0.weight' of shape [48, 32] in microscopiq-w4 needs"), e.getMessage());
    }

    @Test
    void malformedManifestIsRejected() throws Exception {
        byte[] b = Files.readAllBytes(written());
        b[16] = '[';
        assertTrue(corrupt(b).getMessage().contains("manifest"));
    }

    @Test
    void failedWriteLeavesNothing() throws Exception {
        Path target = dir.resolve("out.qbz");
        Files.createDirectories(target.resolve("occupied")); // a non-empty directory cannot be replaced by the rename
        assertThrows(java.io.IOException.class, () -> QbzFile.write(target, "m", "", "f", Map.of(), entries()));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(target), s.toList());
        }
        assertTrue(Files.isDirectory(target));
    }
}
