package io.qbridge.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How .mvn/find-jdk.sh (sourced by ./qbridge, ./run-tests and .ci/run) tells a JDK's version: from its release file
 * when it has one, without starting it, and from the JVM's properties when it has none. The JDKs here are fakes
 * whose {@code java} prints a version (or fails), so each test knows which way was taken.
 */
class FindJdkTest {
    /** JAVA_HOME and QB_JAVA_MAJOR after sourcing find-jdk.sh with {@code javaHome} as JAVA_HOME. */
    private static List<String> find(Path javaHome) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c",
                "set -euo pipefail; source \"$1/.mvn/find-jdk.sh\"; echo \"$JAVA_HOME\"; echo \"$QB_JAVA_MAJOR\"", "find-jdk", CliEndToEndTest.ROOT.toString());
        pb.environment().put("JAVA_HOME", javaHome.toString());
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(1, TimeUnit.MINUTES), "find-jdk.sh did not finish");
        assertEquals(0, p.exitValue(), out);
        return out.lines().toList();
    }

    /** A JDK directory whose bin/java prints {@code specVersion} as java.specification.version (or fails when null). */
    private static Path fakeJdk(Path dir, String release, String specVersion) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        String java = specVersion == null ? "#!/bin/sh\necho 'this java must not be run' >&2\nexit 1\n"
                : "#!/bin/sh\necho '    java.specification.version = " + specVersion + "' >&2\n";
        for (String tool : List.of("java", "javac")) {
            Path f = Files.writeString(bin.resolve(tool), java);
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        if (release != null) Files.writeString(dir.resolve("release"), release);
        return dir;
    }

    @Test
    void theReleaseFileGivesTheVersionWithoutStartingTheJdk(@TempDir Path dir) throws Exception {
        Path jdk = fakeJdk(dir.resolve("jdk-23"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"23.0.2\"\nOS_NAME=\"Linux\"\n", null);
        assertEquals(List.of(jdk.toString(), "23"), find(jdk));
    }

    @Test
    void withoutAReleaseFileTheJvmIsAsked(@TempDir Path dir) throws Exception {
        Path jdk = fakeJdk(dir.resolve("jdk-22"), null, "22");
        assertEquals(List.of(jdk.toString(), "22"), find(jdk));
    }

    @Test
    void aJavaHomeBelow21IsPassedOver(@TempDir Path dir) throws Exception {
        Path old = fakeJdk(dir.resolve("jdk-17"), "JAVA_VERSION=\"17.0.15\"\n", "17");
        List<String> found = find(old);
        assertNotEquals(old.toString(), found.get(0), "a JDK 17 JAVA_HOME was taken");
        assertTrue(Integer.parseInt(found.get(1)) >= 21, found.toString());
    }
}
