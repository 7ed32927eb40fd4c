package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.client.QbridgeClient;
import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's schema versioning and state rules, and the artifact store's naming, without a network. */
class JobStoreTest {
    @Test
    void migrationsApplyOnceAndTheVersionIsRecorded(@TempDir Path data) throws Exception {
        try (JobStore s = JobStore.open(data)) {
            assertEquals(JobStore.MIGRATIONS.size(), s.schemaVersion());
            s.insert("j-1", "alice", JobKind.JOB_KIND_RUN, QbridgeClient.runSpec("minilm", List.of("x")), 0, 1, null);
        }
        try (JobStore s = JobStore.open(data)) {
            assertEquals(JobStore.MIGRATIONS.size(), s.schemaVersion());
            assertEquals("alice", s.find("j-1").orElseThrow().client(), "reopening keeps the data");
        }
    }

    @Test
    void anOlderDatabaseIsUpgradedInPlace(@TempDir Path data) throws Exception {
        try (JobStore s = JobStore.open(data, 1)) {
            assertEquals(1, s.schemaVersion());
        }
        try (JobStore s = JobStore.open(data)) {
            assertEquals(2, s.schemaVersion());
            s.insert("j-1", "a", JobKind.JOB_KIND_RUN, QbridgeClient.runSpec("minilm", List.of("x")), 0, 1, null, 1234);
            assertEquals(1234, s.find("j-1").orElseThrow().timeoutMillis(), "the column migration 2 added is in use");
        }
    }

    @Test
    void transitionsOnlyHappenFromTheStateTheyExpect(@TempDir Path data) throws Exception {
        try (JobStore s = JobStore.open(data)) {
            s.insert("j-1", "a", JobKind.JOB_KIND_RUN, QbridgeClient.runSpec("minilm", List.of("x")), 0, 1, null);
            assertFalse(s.finish("j-1", JobState.JOB_STATE_SUCCEEDED, 2, null, null), "a queued job cannot succeed");
            assertTrue(s.markRunning("j-1", 2));
            assertFalse(s.markRunning("j-1", 3), "a job starts once");
            assertFalse(s.cancelQueued("j-1", 3), "a running job is not cancelled by the queue path");
            assertEquals(JobState.JOB_STATE_QUEUED, s.interrupt("j-1", "stop"), "run jobs are safe to repeat");
            assertTrue(s.markRunning("j-1", 4));
            assertEquals(2, s.find("j-1").orElseThrow().attempts());
            assertTrue(s.finish("j-1", JobState.JOB_STATE_SUCCEEDED, 5, null, null));
            assertFalse(s.finish("j-1", JobState.JOB_STATE_FAILED, 6, "late", null), "a final state is final");

            s.insert("j-2", "a", JobKind.JOB_KIND_BENCH, io.qbridge.protocol.v1.JobSpec.getDefaultInstance(), 0, 1, null);
            s.markRunning("j-2", 2);
            assertEquals(JobState.JOB_STATE_INTERRUPTED, s.interrupt("j-2", "stop"), "a bench is not repeated blindly");
        }
    }

    @Test
    void artifactsAreNamedByTheirSha256AndWrittenWhole(@TempDir Path data) throws Exception {
        ArtifactStore a = new ArtifactStore(data);
        Path tmp = a.newTempFile(".bin");
        Files.writeString(tmp, "hello");
        Artifact art = a.adopt(tmp, "h.bin");
        String sha = HexFormat.of().formatHex(ArtifactStore.sha256().digest("hello".getBytes()));
        assertEquals(sha, art.getSha256());
        assertEquals(5, art.getSize());
        assertEquals("hello", Files.readString(a.path(sha)));
        assertFalse(Files.exists(tmp));
        assertTrue(a.contains(sha));
        assertFalse(a.contains("../" + sha.substring(3)));
        try (var left = Files.list(data.resolve("tmp"))) {
            assertEquals(0, left.count(), "no temporary file is left behind");
        }
        Files.writeString(a.newTempFile(".part"), "half a file from a crash");
        new ArtifactStore(data);
        try (var left = Files.list(data.resolve("tmp"))) {
            assertEquals(0, left.count(), "a restart clears what a crash left half-written");
        }
        assertTrue(a.contains(sha), "and keeps what was stored");
    }
}
