package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code qbridge hls-vectors}: one file per kernel with the documented header, and nothing left over. */
class HlsVectorsCommandTest {
    @Test
    void writesOneVectorFilePerKernel(@TempDir Path dir) throws Exception {
        CliTest.Run r = CliTest.run("hls-vectors", "--out", dir.toString(), "--no-real");
        assertEquals(0, r.exit(), r.err());
        String[] kernels = {"microscopiq", "fineq", "mx", "intgroup", "lobcq", "axbxp"};
        for (int i = 0; i < kernels.length; i++) {
            byte[] b = Files.readAllBytes(dir.resolve(kernels[i] + ".qbv"));
            ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals("QBHLSVEC", new String(Arrays.copyOf(b, 8), StandardCharsets.US_ASCII));
            h.position(8);
            assertEquals(1, h.getInt(), "version");
            assertEquals(i, h.getInt(), "kernel id of " + kernels[i]);
            int cases = h.getInt();
            assertTrue(cases >= 16, kernels[i] + ": " + cases + " cases");
            assertTrue(r.out().contains(kernels[i] + ".qbv: " + cases + " cases"), r.out());
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.filter(p -> p.toString().endsWith(".tmp")).count(), "no temporary files left");
        }
    }

    @Test
    void outIsRequired() {
        CliTest.Run r = CliTest.run("hls-vectors");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--out"), r.err());
    }
}
