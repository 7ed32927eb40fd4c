package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qbridge.container.QbzFile;
import io.qbridge.container.QbzManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code qbridge info FILE.qbz} reads the container's manifest (it used to parse it as a llama2.c checkpoint). */
class QbzInfoTest {
    @Test
    void infoShowsTheManifestInWordsAndAsJson(@TempDir Path dir) throws Exception {
        Path qbz = dir.resolve("minilm-mxint8.qbz");
        CliTest.Run q = CliTest.run("quantize", "--model", "minilm", "--format", "mxint8", "--out", qbz.toString());
        assertEquals(0, q.exit(), q.err());
        QbzManifest m = QbzFile.open(qbz).manifest();

        CliTest.Run r = CliTest.run("info", qbz.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("base model   minilm (built in)"), r.out());
        assertTrue(r.out().contains("base sha256  " + m.baseSha256()), r.out());
        assertTrue(r.out().contains("format       mxint8"), r.out());
        assertTrue(r.out().contains("algorithm    rtn"), r.out());
        assertTrue(r.out().contains("bits/weight  8.2500 over "), r.out()); // 8-bit elements + one E8M0 per 32
        for (QbzManifest.Tensor t : m.tensors()) assertTrue(r.out().contains(t.name()), t.name());

        CliTest.Run j = CliTest.run("info", qbz.toString(), "--json");
        assertEquals(0, j.exit(), j.err());
        JsonNode json = new ObjectMapper().readTree(j.out());
        assertEquals(m.baseSha256(), json.get("baseSha256").asText());
        assertEquals(m.fileLength(), json.get("bytes").asLong());
        assertEquals(8.25, json.get("packedBitsPerWeight").asDouble(), 0);
        assertEquals(m.tensors().size(), json.get("tensors").size());
        for (int i = 0; i < m.tensors().size(); i++) {
            QbzManifest.Tensor t = m.tensors().get(i);
            JsonNode jt = json.get("tensors").get(i);
            assertEquals(t.name(), jt.get("name").asText());
            assertEquals(t.length(), jt.get("bytes").asLong());
            assertEquals(t.shape()[0], jt.get("shape").get(0).asLong());
        }
        assertEquals("mxint8", json.get("settings").get("recipe").asText());
    }

    @Test
    void aDamagedContainerIsOneContainerError(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("broken.qbz");
        Files.write(bad, new byte[64]);
        CliTest.Run r = CliTest.run("info", bad.toString());
        assertEquals(2, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("not a .qbz container"), r.err());
    }
}
