package io.qbridge.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVM options ./qbridge gives the CLI (.mvn/jvm-options.sh, sourced as the launcher sources it, under
 * {@code set -euo pipefail}): the heap on transparent huge pages for FP32 decoding on the host, and for nothing else (a
 * quantized load faults in a gigabyte of huge pages slowly, BENCHMARKS.md §2b); never where the kernel has them off
 * (the JVM would warn on every start).
 */
class LauncherOptionsTest {
    private static final String THP = "-XX:+UseTransparentHugePages";

    /** Runs {@code script} after sourcing the launcher's files, with {@code args} as its arguments; its output lines. */
    private static List<String> bash(String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c",
                "set -euo pipefail; ROOT=\"$1\"; shift; source \"$ROOT/.mvn/find-jdk.sh\"; source \"$ROOT/.mvn/jvm-options.sh\"; " + script,
                "options", CliEndToEndTest.ROOT.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(1, TimeUnit.MINUTES), "the options script did not finish");
        assertEquals(0, p.exitValue(), out);
        return out.lines().toList();
    }

    /** Whether the launcher counts {@code args} as FP32 decoding on the host (regardless of the kernel's THP setting). */
    private static boolean fp32HostDecoding(String... args) throws IOException, InterruptedException {
        return bash("if _qb_fp32_host_decoding \"$@\"; then echo yes; else echo no; fi", args).getLast().equals("yes");
    }

    private static List<String> options(String... args) throws IOException, InterruptedException {
        return bash("qbridge_jvm_options \"$@\"; printf '%s\\n' \"${JVM_OPTS[@]}\"", args);
    }

    private static boolean kernelHasHugePages() throws IOException {
        Path f = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        return Files.isReadable(f) && Files.readString(f).matches("(?s).*\\[(always|madvise)\\].*");
    }

    @Test
    void fp32HostDecodingIsToldFromTheArguments(@TempDir Path dir) throws Exception {
        Path container = dir.resolve("model-without-extension");
        Files.write(container, new byte[] {'Q', 'B', 'Z', 1, '\r', '\n', 0x1A, '\n'});
        Path checkpoint = dir.resolve("m42.bin");
        Files.write(checkpoint, new byte[] {0, 2, 0, 0});
        assertTrue(fp32HostDecoding("generate", "-m", checkpoint.toString(), "-n", "256"));
        assertTrue(fp32HostDecoding("--verbose", "generate", "--model", "m42.bin"));
        assertTrue(fp32HostDecoding("generate", "--model=stories.gguf", "-i", "Once"));
        assertTrue(fp32HostDecoding("generate", "-m", "hf-llama-dir", "--device", "emulator"));
        for (String[] args : List.of(new String[] {"generate", "-m", "m42.bin", "--format", "rtn-w4g128"}, new String[] {"generate", "-m", "m42.bin", "--format=mxint8"},
                new String[] {"generate", "-m", "m42.bin", "-f", "mxint8"}, new String[] {"generate", "-fmxint8", "-m", "m42.bin"},
                new String[] {"generate", "-m", "m42-w4.qbz"}, new String[] {"generate", "--model=M42-W4.QBZ"}, new String[] {"generate", "-m", container.toString()},
                new String[] {"embed", "--model", "bge-small"}, new String[] {"demo"}, new String[] {"eval", "-m", "m42.bin"}, new String[] {})) {
            assertFalse(fp32HostDecoding(args), String.join(" ", args));
        }
    }

    @Test
    void hugePagesOnlyThereAndOnlyWhereTheKernelHasThem() throws Exception {
        assertEquals(kernelHasHugePages(), options("generate", "-m", "m42.bin").contains(THP), "FP32 generate on the host");
        List<String> quantized = options("generate", "-m", "m42.bin", "--format", "rtn-w4g128");
        assertTrue(quantized.contains("-XX:+UseParallelGC"), quantized.toString());
        assertFalse(quantized.contains(THP), quantized.toString());
    }

    /**
     * Under ParallelGC the encoder commands get strip-mined counted loops (C2 compiled MatMul's FP32 tile 35 % slower
     * without them), a second C2 compiler thread, attention's products compiled early and the Vector API's fallbacks
     * late, and `generate` none (its spinning decode threads lose to the compiler thread, its quantizing load to the
     * loops' polls; BENCHMARKS.md §1b, fifth to seventh passes); this JDK takes them.
     */
    @Test
    void theEncoderCommandsGetTheCompilerOptionsAndTheJvmTakesThem() throws Exception {
        List<String> compiler = List.of("-XX:+UseCountedLoopSafepoints", "-XX:LoopStripMiningIter=1000", "-XX:CICompilerCount=3",
                "-XX:CompileCommand=CompileThresholdScaling,io.qbridge.compute.MatMul::inOutTile,0.01",
                "-XX:CompileCommand=CompileThresholdScaling,io.qbridge.compute.MatMul::kernel1xV,0.01",
                "-XX:CompileCommand=CompileThresholdScaling,jdk.incubator.vector.*::*Template,50.0",
                "-XX:CompileCommand=CompileThresholdScaling,jdk.incubator.vector.*::apply,50.0");
        for (String[] args : List.of(new String[] {"embed", "--model", "minilm"}, new String[] {"run", "--model", "m.qbz"}, new String[] {"--verbose", "demo"},
                new String[] {"generate", "-m", "m42.bin"}, new String[] {"generate", "-m", "m42.bin", "-f", "mxint8"}, new String[] {"serve"}, new String[] {"bench", "-m", "m.qbz"},
                new String[] {})) {
            List<String> opts = options(args);
            assertTrue(opts.contains("-XX:+UseParallelGC"), String.join(" ", args) + ": " + opts);
            // every command: the one-vector kernel inlined (bench's slow mode, BENCHMARKS.md §1b eleventh pass)
            assertTrue(opts.contains("-XX:CompileCommand=inline,io.qbridge.compute.MatMul::kernel1xV"), String.join(" ", args) + ": " + opts);
            boolean encoder = List.of(args).contains("embed") || List.of(args).contains("run") || List.of(args).contains("demo");
            assertEquals(encoder, opts.containsAll(compiler), String.join(" ", args) + ": " + opts);
            assertTrue(encoder || compiler.stream().noneMatch(opts::contains), String.join(" ", args) + ": " + opts);
        }
        List<String> accepted = bash("qbridge_jvm_options embed; \"$JAVA_HOME/bin/java\" \"${JVM_OPTS[@]}\" -version 2>&1 && echo accepted");
        assertEquals("accepted", accepted.getLast(), String.join("\n", accepted));
    }
}
