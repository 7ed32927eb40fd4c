package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qbridge.files.CacheProperty;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code qbridge run} keeps its layers' plans in the cache folder (docs/emulator.md §7): the first run plans and keeps
 * every layer, the second reads every plan back and prints the same embeddings, bit for bit, as does a run with the
 * cache off, which keeps nothing.
 */
class PlanCacheCliTest {
    @TempDir Path tmp;
    @RegisterExtension final CacheProperty cache = new CacheProperty();

    @BeforeEach
    void useTempCache() {
        cache.set(tmp.resolve("cache").toString());
    }

    @Test
    void theSecondRunReadsThePlansAndPrintsTheSameBits() throws Exception {
        Path text = tmp.resolve("in.txt");
        Files.writeString(text, "Outliers keep their precision in the packed layout.\nA second, shorter sentence.\n");
        String[] args = {"run", "--device", "emulator", "--model", "minilm", "--format", "microscopiq-w4@rtn", "--text", text.toString(), "--json"};
        Path plans = tmp.resolve("cache").resolve("plans");

        CliTest.Run first = CliTest.run(args);
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.err().contains("emulator: 0 layer plans read from " + plans + ", 36 planned and kept there"), first.err());
        assertTrue(first.err().contains("run: 2/2 (100%)"), "run shows its progress as embed does: " + first.err());
        List<Path> kept = entries(plans);
        assertEquals(36, kept.size(), kept.toString());

        CliTest.Run second = CliTest.run(args);
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.err().contains("emulator: 36 layer plans read from " + plans + ", 0 planned and kept there"), second.err());
        assertEquals(kept, entries(plans));

        cache.set("off");
        CliTest.Run off = CliTest.run(args);
        assertEquals(0, off.exit(), off.err());
        assertFalse(off.err().contains("layer plans"), off.err());

        ObjectMapper om = new ObjectMapper();
        assertEquals(om.readTree(first.out()).get("embeddings"), om.readTree(second.out()).get("embeddings"));
        assertEquals(om.readTree(first.out()).get("embeddings"), om.readTree(off.out()).get("embeddings"));
    }

    private static List<Path> entries(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
