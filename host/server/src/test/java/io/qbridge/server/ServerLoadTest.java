package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qbridge.client.QbridgeClient;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ListJobsResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 32 concurrent clients x 20 run jobs on loopback against a real server: every job succeeds exactly once,
 * and every result is the local computation bit for bit. Correctness only; the speed of the same load is
 * measured by the tests module's ServerLoadBench and recorded in BENCHMARKS.md.
 */
class ServerLoadTest {
    static final int CLIENTS = 32, JOBS = 20;

    @Test
    void thirtyTwoClientsTimesTwentyJobsAllSucceedOnceWithLocalResults(@TempDir Path dir) throws Exception {
        try (JobServer server = JobServer.start(ServerConfig.loopback(0, dir, null).withWorkers(2))) {
            ServerLoad.Result r = ServerLoad.remote("127.0.0.1:" + server.port(), CLIENTS, JOBS);
            assertEquals(CLIENTS * JOBS, r.outcomes().size());

            EncoderModel local = EncoderModel.load(EncoderModel.Builtin.MINILM);
            Map<List<String>, float[][]> expected = new HashMap<>();
            Set<String> ids = new HashSet<>();
            for (ServerLoad.Outcome o : r.outcomes()) {
                Job j = o.job();
                String where = "client " + o.client() + " job " + o.index() + " (" + j.getId() + ")";
                assertEquals(JobState.JOB_STATE_SUCCEEDED, j.getState(), where + ": " + j.getError());
                assertEquals(1, j.getAttempts(), where + " ran more than once");
                assertEquals(true, ids.add(j.getId()), where + ": the same job id twice");
                List<String> s = ServerLoad.sentences(o.client(), o.index(), JOBS);
                float[][] want = expected.computeIfAbsent(s, k -> local.embedIds(local.tokenize(k, null), EncoderModel.DEFAULT_BATCH_TOKENS));
                float[][] got = QbridgeClient.embeddings(j);
                assertEquals(2, got.length, where);
                for (int i = 0; i < 2; i++) assertArrayEquals(bits(want[i]), bits(got[i]), where + " sentence " + i);
            }

            // the server's own account: exactly these 640 jobs, each SUCCEEDED
            try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:" + server.port(), null)) {
                Set<String> listed = new HashSet<>();
                String page = "";
                do {
                    ListJobsResponse resp = c.list(List.of(), 500, page);
                    for (Job j : resp.getJobsList()) {
                        assertEquals(JobState.JOB_STATE_SUCCEEDED, j.getState(), j.getId());
                        assertEquals(true, listed.add(j.getId()), "listed twice: " + j.getId());
                    }
                    page = resp.getNextPageToken();
                } while (!page.isEmpty());
                assertEquals(ids, listed);
            }
        }
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }
}
