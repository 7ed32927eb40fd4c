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
    void readManifestChecksTheLayoutButNotTheTensorHashes() throws Exception {
        byte[] b = Files.readAllBytes(written());
        QbzManifest whole = QbzFile.open(dir.resolve("m.qbz")).manifest();
        assertSameManifest(whole, QbzFile.readManifest(dir.resolve("m.qbz")));
        // a flipped tensor byte is open's to find (readManifest's callers open the file fully afterwards) ...
        b[(int) whole.tensors().get(2).offset() + 5] ^= 0x10;
        Path flipped = dir.resolve("flipped.qbz");
        Files.write(flipped, b);
        assertSameManifest(whole, QbzFile.readManifest(flipped));
        // ... but a truncated file is refused by both
        Path cut = dir.resolve("cut.qbz");
        Files.write(cut, Arrays.copyOf(b, b.length - 10));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> QbzFile.readManifest(cut));
        assertTrue(e.getMessage().contains("(truncated)"), e.getMessage());
    }

    private static void assertSameManifest(QbzManifest a, QbzManifest b) {
        assertEquals(a.format(), b.format());
        assertEquals(a.settings(), b.settings());
        assertEquals(a.fileLength(), b.fileLength());
        assertEquals(a.tensors().stream().map(t -> t.name() + "@" + t.offset() + ":" + t.sha256()).toList(),
                b.tensors().stream().map(t -> t.name() + "@" + t.offset() + ":" + t.sha256()).toList());
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

    /** A small container of a built-in base, written without floating-point arithmetic, so its bytes are the same everywhere. */
    private Path builtinGolden() throws Exception {
        Path p = dir.resolve("golden.qbz");
        QbzFile.write(p, "minilm", "ab".repeat(32), "mxint8", new java.util.LinkedHashMap<>(Map.of("algorithm", "rtn")),
                List.of(new QbzEntry.Floats("encoder.layer.0.attention.self.query.bias", new float[] {1f, -2.5f, 3.25f}, new long[] {3})));
        return p;
    }

    @Test
    void containersOfBuiltInBasesKeepTheirBytes() throws Exception {
        // sha256 of these bytes as the writer produced them before file bases existed (main at 65442d5, run once
        // with that commit's QbzFile): a file base adds manifest fields only when there is one
        Path p = builtinGolden();
        assertEquals("543aeba52394d5beee68c7720a086071c4a4cb5fe05f41980131c80f3ee98934",
                java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
        QbzManifest m = QbzFile.open(p).manifest();
        assertFalse(m.hasExternalBase());
        assertEquals(null, m.external());
    }

    @Test
    void aFileBaseRoundTripsAndItsPoolingIsChecked() throws Exception {
        Path p = dir.resolve("file-base.qbz");
        String onnxSha = "cd".repeat(32);
        QbzManifest.External ext = new QbzManifest.External("ef".repeat(32), "cls");
        QbzFile.write(p, QbzManifest.externalLabel(onnxSha), onnxSha, ext, "mixed", Map.of("algorithm", "rtn"), entries());
        QbzManifest m = QbzFile.open(p).manifest();
        assertEquals("onnx-cdcdcdcdcdcd", m.model());
        assertEquals(onnxSha, m.baseSha256());
        assertEquals(ext, m.external());
        assertTrue(m.hasExternalBase());

        String json = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1); // one char per byte, so the tensors survive
        Path bad = dir.resolve("bad-pooling.qbz");
        // same length, so every offset stays valid: only the pooling is wrong
        Files.write(bad, json.replace("\"base_pooling\" : \"cls\"", "\"base_pooling\" : \"max\"").getBytes(StandardCharsets.ISO_8859_1));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> QbzFile.open(bad));
        assertTrue(e.getMessage().contains("manifest field 'base_pooling' is 'max', not cls or mean"), e.getMessage());
    }
}
