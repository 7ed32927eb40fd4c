package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code generate --classifier-on-device}: the classifier quantized and on the device, and the weight bytes per token it saves. */
class GenerateClassifierCliTest {
    @Test
    void classifierOnTheDeviceReadsFewerBytesPerToken() {
        Path g = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c");
        assumeTrue(Files.isDirectory(g), "shared/golden/llama2c is absent (a user's clone): skipping");
        String[] common = {"generate", "--model", g.resolve("synth-a.bin").toString(), "--tokenizer", g.resolve("tokenizer.bin").toString(),
                "--prompt", "Once upon a time", "--steps", "10", "--temperature", "0", "--format", "mxint8", "--device", "emulator"};
        CliTest.Run host = CliTest.run(common);
        String[] onDevice = java.util.Arrays.copyOf(common, common.length + 1);
        onDevice[common.length] = "--classifier-on-device";
        CliTest.Run dev = CliTest.run(onDevice);
        assertEquals(0, host.exit(), host.err());
        assertEquals(0, dev.exit(), dev.err());
        assertTrue(host.err().contains("classifier FP32 on the host"), host.err());
        assertTrue(dev.err().contains("classifier too (RTN)"), dev.err());
        // synth-a: 32000 x 96 classifier = 12.3 MB in FP32; in mxint8 on the decode kernel a byte a weight, a shift byte
        // per 32-block and one fp32 scale per merged group (a row's three blocks): 32000 x (96 + 3 + 4) = 3.30 MB
        double hostMb = megabytes(host.err()), devMb = megabytes(dev.err());
        assertTrue(hostMb - devMb > 12.28 - 3.30 - 0.1 && hostMb - devMb < 12.28 - 3.30 + 0.1, hostMb + " MB vs " + devMb + " MB");
        assertTrue(dev.out().startsWith("Once upon a time"), dev.out());
        assertNotEquals("", dev.out().strip());
    }

    @Test
    void classifierOnDeviceNeedsAFormat() {
        CliTest.Run r = CliTest.run("generate", "--model", "no-such.bin", "--classifier-on-device");
        assertEquals(2, r.exit());
        assertEquals("qbridge: --classifier-on-device needs --format", r.err().strip());
    }

    @Test
    void axbxpActivationsWithoutAConfigurationAreRefusedBeforeLoading() {
        CliTest.Run r = CliTest.run("generate", "--model", "no-such.bin", "--format", "rtn-w8g128", "--activations", "axbxp");
        assertEquals(2, r.exit());
        assertEquals("qbridge: --activations axbxp: no-such.bin has no per-layer Ax-BxP configurations: give --axbxp CONFIG (for example k2-x2d-w2d-full) "
                + "or --axbxp-budget E, or run a .qbz quantized with --axbxp-budget", r.err().strip());
    }

    private static double megabytes(String err) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("weights read per token: ([0-9.]+) MB").matcher(err);
        assertTrue(m.find(), err);
        return Double.parseDouble(m.group(1));
    }
}
