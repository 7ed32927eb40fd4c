package io.qbridge.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The JVM options ./qbridge gives the CLI (.mvn/jvm-options.sh, sourced by the launcher as it is here): the heap on
 * transparent huge pages for FP32 decoding on the host, and for nothing else (a quantized load faults in a gigabyte
 * of huge pages slowly, BENCHMARKS.md §2b); never where the kernel has them off (the JVM would warn on every start).
 */
class LauncherOptionsTest {
    private static final String THP = "-XX:+UseTransparentHugePages";

    /** The options for {@code args}, one a line, as the launcher computes them. */
    private static List<String> options(String... args) throws IOException, InterruptedException {
        Path root = CliEndToEndTest.ROOT;
        List<String> cmd = new ArrayList<>(List.of("bash", "-c",
                "ROOT=\"$1\"; shift; source \"$ROOT/.mvn/find-jdk.sh\"; source \"$ROOT/.mvn/jvm-options.sh\"; qbridge_jvm_options \"$@\"; printf '%s\\n' \"${JVM_OPTS[@]}\"",
                "options", root.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(1, TimeUnit.MINUTES), "the options script did not finish");
        assertEquals(0, p.exitValue(), out);
        return out.lines().toList();
    }

    private static boolean kernelHasHugePages() throws IOException {
        Path f = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        return Files.isReadable(f) && Files.readString(f).matches("(?s).*\\[(always|madvise)\\].*");
    }

    @Test
    void hugePagesForFp32HostDecodingOnly() throws Exception {
        boolean thp = kernelHasHugePages();
        assertEquals(thp, options("generate", "-m", "m42.bin", "-n", "256").contains(THP), "FP32 generate on the host");
        for (List<String> args : List.of(List.of("generate", "-m", "m42.bin", "--format", "rtn-w4g128"), List.of("generate", "-m", "m42.bin", "--format=mxint8"),
                List.of("generate", "-m", "m42.bin", "-f", "mxint8"), List.of("generate", "-fmxint8", "-m", "m42.bin"), List.of("generate", "-m", "m42-w4.qbz"),
                List.of("embed", "--model", "bge-small"), List.of("demo"), List.of("eval", "-m", "m42.bin"))) {
            List<String> o = options(args.toArray(String[]::new));
            assertTrue(o.contains("-XX:+UseParallelGC"), args + ": " + o);
            assertTrue(!o.contains(THP), args + " gets huge pages");
        }
    }
}
