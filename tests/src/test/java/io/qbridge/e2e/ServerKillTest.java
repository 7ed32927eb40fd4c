package io.qbridge.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobState;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durability against a real crash: `qbridge serve` in its own JVM is killed with SIGKILL while jobs are
 * queued and one is running, restarted on the same data directory, and every acknowledged job must end
 * SUCCEEDED exactly once (the running one after being marked interrupted and re-queued).
 */
class ServerKillTest {
    private static final Pattern LISTENING = Pattern.compile("listening on [^:]+:(\\d+)");

    record Server(Process process, int port, BlockingQueue<String> log) {}

    static Server start(Path data) throws Exception {
        return start(data, List.of("--workers", "1"));
    }

    /** `qbridge serve --port 0 --data DATA` with more options, in its own JVM; returns once it listens. */
    static Server start(Path data, List<String> options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Dqbridge.threads=1", "-jar", CliEndToEndTest.jar().toString(),
                "serve", "--port", "0", "--data", data.toString()));
        cmd.addAll(options);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        BlockingQueue<String> log = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) log.add(line);
            } catch (Exception ignored) {
                // the process died: that is what this test does to it
            }
        }, "serve-log");
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String line = log.poll(1, TimeUnit.SECONDS);
            if (line == null) continue;
            Matcher m = LISTENING.matcher(line);
            if (m.find()) return new Server(p, Integer.parseInt(m.group(1)), log);
        }
        p.destroyForcibly();
        throw new AssertionError("qbridge serve did not start within 60 s");
    }

    @Test
    void killMinus9LosesNothingAcknowledged(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        Server first = start(data);
        Set<String> acknowledged = new HashSet<>();
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + first.port(), null)) {
            // GPTQ-path quantize jobs take seconds each on one worker: one runs, the rest wait in the queue
            for (int i = 0; i < 4; i++) acknowledged.add(c.submit(QbridgeClient.quantizeSpec("minilm", "gptq-w4g128", 8), 0).getId());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            boolean running = false;
            while (!running && System.nanoTime() < deadline) {
                running = !c.list(EnumSet.of(JobState.JOB_STATE_RUNNING), 10, "").getJobsList().isEmpty();
                if (!running) Thread.sleep(50);
            }
            assertTrue(running, "a job was running before the kill");
        }
        first.process().destroyForcibly(); // SIGKILL: no shutdown hook, no flush
        assertTrue(first.process().waitFor(30, TimeUnit.SECONDS));

        Server second = start(data);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + second.port(), null)) {
            int interrupted = 0;
            for (String id : acknowledged) {
                Job done = c.await(id, e -> {});
                assertEquals(JobState.JOB_STATE_SUCCEEDED, done.getState(), id + ": " + done);
                if (done.getAttempts() > 1) interrupted++;
            }
            assertEquals(1, interrupted, "exactly the job that was running is repeated");
            List<Job> all = c.list(EnumSet.noneOf(JobState.class), 100, "").getJobsList();
            assertEquals(acknowledged.size(), all.size(), "nothing lost, nothing duplicated");
        } finally {
            second.process().destroy();
            second.process().waitFor(30, TimeUnit.SECONDS);
        }
        assertTrue(Files.isDirectory(data));
    }
}
