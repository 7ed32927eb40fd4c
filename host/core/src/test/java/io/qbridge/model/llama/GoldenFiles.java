package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** The llama2.c reference outputs under {@code ${qbridge.shared}/golden/llama2c} (see its README.md). */
final class GoldenFiles {
    private GoldenFiles() {}

    /** The golden directory, or a skipped test (with the reason printed) when it is not there. */
    static Path dir() {
        String shared = System.getProperty("qbridge.shared");
        String reason = null;
        Path dir = null;
        if (shared == null) {
            reason = "system property qbridge.shared is not set";
        } else {
            dir = Path.of(shared, "golden", "llama2c");
            if (!Files.isDirectory(dir)) reason = dir + " does not exist";
        }
        if (reason != null) System.out.println("SKIPPED llama2.c golden tests: " + reason);
        assumeTrue(reason == null, reason);
        return dir;
    }

    static int[] ids(Path file) throws IOException {
        return Files.readAllLines(file).stream().map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
    }

    /** Rows of {@code vocab} little-endian floats. */
    static float[][] logits(Path file, int vocab) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int rows = b.remaining() / (vocab * Float.BYTES);
        if ((long) rows * vocab * Float.BYTES != b.remaining()) throw new IOException(file + " is not whole rows of " + vocab);
        float[][] out = new float[rows][vocab];
        // asFloatBuffer starts at the buffer's position: advance it past each row.
        for (float[] row : out) {
            b.asFloatBuffer().get(row);
            b.position(b.position() + vocab * Float.BYTES);
        }
        return out;
    }
}
