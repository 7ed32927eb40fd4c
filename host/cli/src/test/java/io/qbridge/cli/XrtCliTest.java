package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qbridge.xrt.SwDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The board path from the command line, on the software device: {@code run --device xrt} embeds bit-identically to
 * {@code --device emulator}, {@code devices} lists the software device and its bitstream, and a missing library is
 * one line (xrt) or a logged fallback (auto).
 */
class XrtCliTest {
    static final String SENTENCES = "The committee adopted the report.\nQuantized weights keep their outliers.\nA short one.\n";

    @Test
    void runOnTheSoftwareDeviceIsBitIdenticalToTheEmulator(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("s.txt");
        Files.writeString(text, SENTENCES);
        String lib = SwDevice.library().toString();
        for (String[] fa : new String[][] {{"mxfp4@rtn", "int8-token"}, {"microscopiq-w4@rtn", "mxint8"}}) {
            CliTest.Run emu = CliTest.run("run", "--device", "emulator", "--model", "minilm", "--format", fa[0], "--activations", fa[1], "--text", text.toString(), "--json");
            CliTest.Run xrt = CliTest.run("run", "--device", "xrt", "--xrt-library", lib, "--model", "minilm", "--format", fa[0], "--activations", fa[1], "--text", text.toString(), "--json");
            assertEquals(0, emu.exit(), emu.err());
            assertEquals(0, xrt.exit(), xrt.err());
            ObjectMapper m = new ObjectMapper();
            JsonNode e = m.readTree(emu.out()), x = m.readTree(xrt.out());
            assertEquals("xrt", x.get("device").get("kind").asText());
            assertEquals(3, x.get("embeddings").size());
            assertEquals(e.get("embeddings"), x.get("embeddings"), fa[0] + " " + fa[1]); // JSON floats print exactly: equal text = equal bits
            assertTrue(xrt.err().contains("XRT device 0 (software device "), xrt.err());
        }
    }

    @Test
    void devicesListsTheSoftwareDeviceAndItsBitstream() throws Exception {
        CliTest.Run r = CliTest.run("devices", "--xrt-library", SwDevice.library().toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("software", j.get("xrt").get(0).get("location").asText());
        JsonNode b = j.get("bitstreams").get(0);
        assertEquals("qbridge_swdevice.xclbin", b.get("file").asText());
        assertTrue(b.get("matches").asBoolean(), b.toString());
        assertTrue(b.get("software").asBoolean());
    }

    @Test
    void aMissingLibraryIsOneLineForXrtAndALoggedFallbackForAuto(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("s.txt");
        Files.writeString(text, "One.\n");
        String absent = dir.resolve("libxrt_coreutil.so").toString();
        CliTest.Run x = CliTest.run("run", "--device", "xrt", "--xrt-library", absent, "--model", "minilm", "--format", "mxfp4@rtn", "--text", text.toString());
        assertEquals(2, x.exit());
        assertEquals("qbridge: --device xrt: no XRT runtime (libxrt_coreutil.so not found in $XILINX_XRT/lib, jna.library.path or /opt/xilinx/xrt/lib; --xrt-library or QBRIDGE_XRT_LIBRARY names one)",
                x.err().lines().filter(l -> l.startsWith("qbridge:")).findFirst().orElse(x.err()));
        CliTest.Run a = CliTest.run("run", "--device", "auto", "--xrt-library", absent, "--model", "minilm", "--format", "mxfp4@rtn", "--text", text.toString(), "--json");
        assertEquals(0, a.exit(), a.err());
        assertTrue(a.err().contains(": using the emulator"), a.err());
    }
}
