package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Errors a new user meets first, and the files the CLI leaves behind. */
class ErrorsAndFilesTest {
    /** What an ordinary new file in {@code dir} gets from this process's umask. */
    private static Set<PosixFilePermission> umaskMode(Path dir) throws Exception {
        Path probe = Files.createFile(dir.resolve("umask-probe"));
        try {
            return Files.getPosixFilePermissions(probe);
        } finally {
            Files.delete(probe);
        }
    }

    @Test
    void serveOnAPortInUseIsOneLineAndCreatesNothing(@TempDir Path dir) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Path data = dir.resolve("data");
            CliTest.Run r = CliTest.run("serve", "--port", Integer.toString(taken.getLocalPort()), "--data", data.toString());
            assertEquals(2, r.exit(), r.err());
            String err = r.err().strip();
            assertEquals(1, err.lines().count(), err);
            assertTrue(err.contains("127.0.0.1:" + taken.getLocalPort()) && err.contains("already in use"), err);
            assertFalse(Files.exists(data), "nothing under --data");
        }
    }

    @Test
    void outputFilesGetTheUmaskModeNotTempFileMode(@TempDir Path dir) throws Exception {
        Set<PosixFilePermission> ordinary = umaskMode(dir);
        assertTrue(ordinary.contains(PosixFilePermission.OWNER_READ));
        Path qbz = dir.resolve("m.qbz");
        CliTest.Run q = CliTest.run("quantize", "--model", "minilm", "--format", "mxint8", "--out", qbz.toString());
        assertEquals(0, q.exit(), q.err());
        assertEquals(ordinary, Files.getPosixFilePermissions(qbz), ".qbz");

        Path png = dir.resolve("chart.png");
        io.qbridge.report.LatencyChart.write(png, "t", java.util.List.of(new io.qbridge.report.LatencyChart.Bar("encoder.layer.0.attention.self.query", 1.0, 2.0)));
        assertEquals(ordinary, Files.getPosixFilePermissions(png), "PNG");

        CliTest.Run d = CliTest.run("data", "--out", dir.resolve("splits").toString());
        assertEquals(0, d.exit(), d.err());
        try (var files = Files.list(dir.resolve("splits"))) {
            for (Path f : files.toList()) assertEquals(ordinary, Files.getPosixFilePermissions(f), f.toString());
        }
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary file left");
        }
    }

    @Test
    void theLongLineWarningNamesThePhysicalLine(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "short one\n\n\n" + "word ".repeat(700) + "\nlast\n");
        CliTest.Run r = CliTest.run("embed", "--model", "minilm", "--text", text.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("warning: " + text + " line 4 is longer than 512 tokens"), r.err());
    }

    @Test
    void randomBytesNamedOnnxAreNotAnOnnxModelBeforeAnyTokenizerLookup(@TempDir Path dir) throws Exception {
        Path onnx = dir.resolve("model.onnx");
        byte[] junk = new byte[4096];
        new java.util.Random(3).nextBytes(junk);
        Files.write(onnx, junk);
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "hello\n");
        for (String[] args : new String[][] {{"embed", "--model", onnx.toString(), "--text", text.toString()},
                {"quantize", "--model", onnx.toString(), "--format", "mxint8", "--out", dir.resolve("o.qbz").toString()}}) {
            CliTest.Run r = CliTest.run(args);
            assertEquals(2, r.exit(), r.err());
            assertTrue(r.err().contains("not an ONNX model"), args[0] + ": " + r.err());
            assertFalse(r.err().contains("tokenizer.json"), args[0] + ": " + r.err());
        }
    }
}
