package io.qbridge.xrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bitstream manifest that is not one is refused with a message naming the file and the problem. */
class BitstreamManifestTest {
    @Test
    void malformedJsonIsNamedAsSuch(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("manifest.json"), "{\"bitstreams\": [");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BitstreamManifest.read(f));
        assertTrue(e.getMessage().startsWith("bitstream manifest " + f + ": not valid JSON ("), e.getMessage());
    }

    @Test
    void emptyFileOrNoListHasNoBitstreams(@TempDir Path dir) throws Exception {
        for (String text : new String[] {"", "{\"version\": 1}", "[]"}) {
            Path f = Files.writeString(dir.resolve("manifest.json"), text);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BitstreamManifest.read(f), text);
            assertEquals("bitstream manifest " + f + ": no \"bitstreams\" array", e.getMessage(), text);
        }
    }
}
