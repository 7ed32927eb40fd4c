package io.qbridge.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.format.LoBcqCodebooks;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The committed universal codebooks are exactly what the documented calibration produces (docs/formats.md §8.3). */
class LoBcqCalibrationTest {
    @Test
    void calibrationReproducesTheCommittedResource() throws Exception {
        LoBcqCalibration c = LoBcqCalibration.V1;
        List<LoBcqCalibration.Table> tables = c.run();
        String regenerated = c.resourceText(tables);
        String committed;
        try (InputStream in = LoBcqCodebooks.class.getResourceAsStream(LoBcqCodebooks.RESOURCE)) {
            committed = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!regenerated.equals(committed)) Files.writeString(Path.of("target", "lobcq-codebooks-regenerated.txt"), regenerated);
        assertEquals(committed, regenerated, "regenerated table differs from the committed resource (written to target/lobcq-codebooks-regenerated.txt)");
        for (LoBcqCalibration.Table t : tables) {
            double[] h = t.result().history();
            for (int i = 1; i < h.length; i++) assertTrue(h[i] <= h[i - 1], t.format().id() + ": J rose at iteration " + i + ": " + h[i - 1] + " -> " + h[i]);
            assertEquals(t.result().codebooks(), LoBcqCodebooks.universal(t.format().tableKey(), 6));
        }
    }
}
