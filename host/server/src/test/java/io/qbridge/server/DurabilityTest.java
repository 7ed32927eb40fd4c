package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that dies (the database dropped without another write, workers gone, sockets closed) and a
 * new one started on the same data directory: every acknowledged job completes, and the one that was
 * running is recorded as INTERRUPTED, re-queued and run again.
 */
class DurabilityTest {
    @Test
    void everyAcknowledgedJobSurvivesACrashAndTheRunningOneIsRequeued(@TempDir Path data) throws Exception {
        TestServers.Gate gate = new TestServers.Gate();
        ServerConfig cfg = ServerConfig.loopback(0, data, null).withWorkers(1);
        JobServer first = JobServer.start(cfg, gate, TestServers.HOST);
        List<String> acknowledged = new ArrayList<>();
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + first.port(), null)) {
            for (int i = 0; i < 8; i++) acknowledged.add(c.submit(QbridgeClient.runSpec("minilm", List.of("sentence " + i)), i == 0 ? 9 : 0).getId());
            assertTrue(gate.started.await(10, TimeUnit.SECONDS));
            TestServers.awaitState(c, acknowledged.getFirst(), JobState.JOB_STATE_RUNNING, 5000);
            first.crash();
        }

        TestServers.Instant instant = new TestServers.Instant();
        JobServer second = JobServer.start(cfg, instant, TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + second.port(), null)) {
            assertEquals(List.of(acknowledged.getFirst()), second.recoveredAtStart(), "the job running at the crash");
            int succeeded = 0;
            for (String id : acknowledged) {
                Job j = TestServers.awaitState(c, id, JobState.JOB_STATE_SUCCEEDED, 10_000);
                succeeded++;
                assertEquals(id.equals(acknowledged.getFirst()) ? 2 : 1, j.getAttempts(), id);
            }
            assertEquals(8, succeeded);
            assertEquals(8, instant.executed.get(), "each job ran to completion exactly once after the restart");

            List<JobState> states = second.store().events(acknowledged.getFirst()).stream().filter(JobEvent::hasState).map(JobEvent::getState).toList();
            assertEquals(List.of(JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_INTERRUPTED, JobState.JOB_STATE_QUEUED,
                    JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_SUCCEEDED), states);
        } finally {
            second.close();
        }
    }

    @Test
    void aCleanStopRequeuesTheRunningJobForTheNextStart(@TempDir Path data) throws Exception {
        TestServers.Gate gate = new TestServers.Gate();
        ServerConfig cfg = ServerConfig.loopback(0, data, null).withWorkers(1);
        JobServer first = JobServer.start(cfg, gate, TestServers.HOST);
        String id;
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + first.port(), null)) {
            id = c.submit(QbridgeClient.runSpec("minilm", List.of("x")), 0).getId();
            assertTrue(gate.started.await(10, TimeUnit.SECONDS));
        }
        first.close();
        JobServer second = JobServer.start(cfg, new TestServers.Instant(), TestServers.HOST);
        try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + second.port(), null)) {
            assertEquals(List.of(), second.recoveredAtStart(), "a clean stop leaves nothing RUNNING");
            assertEquals(2, TestServers.awaitState(c, id, JobState.JOB_STATE_SUCCEEDED, 10_000).getAttempts());
        } finally {
            second.close();
        }
    }
}
