package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.protocol.v1.SubmitJobRequest;
import io.qbridge.protocol.v1.UploadChunk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;

/**
 * Fuzzing of what a client's bytes reach before any job runs: request decoding, submit validation and
 * upload chunk handling must only ever refuse with a status a client understands, never throw anything
 * else (which gRPC would turn into an opaque UNKNOWN, or worse).
 *
 * <p>In a normal build ({@code mvn verify}) each {@code @FuzzTest} runs only its seed inputs, committed under
 * {@code src/test/resources/io/qbridge/server/RequestFuzzTestInputs/<method>/}, as a regression test. To
 * fuzz (coverage-guided, libFuzzer through Jazzer), one target per run, for at most its {@code maxDuration}:
 *
 * <pre>
 * JAZZER_FUZZ=1 ./mvnw -B test -pl host -am -Dtest='RequestFuzzTest#submitRequest' -Dsurefire.failIfNoSpecifiedTests=false
 * JAZZER_FUZZ=1 ./mvnw -B test -pl host -am -Dtest='RequestFuzzTest#uploadChunk' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * Findings are written as new files beside the seeds; commit the ones worth keeping as regression inputs.
 */
@Tag("fuzz") // runs in its own surefire execution (host/pom.xml)
class RequestFuzzTest {
    /** A well-formed spec naming an upload or artifact this server lacks is FAILED_PRECONDITION. */
    static final Set<Status.Code> SUBMIT_REFUSALS = Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.RESOURCE_EXHAUSTED, Status.Code.UNIMPLEMENTED,
            Status.Code.FAILED_PRECONDITION);
    /** Chunk handling may also say "continue elsewhere" (FAILED_PRECONDITION, a wrong offset). */
    static final Set<Status.Code> UPLOAD_REFUSALS = Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.RESOURCE_EXHAUSTED, Status.Code.FAILED_PRECONDITION);
    static final long UPLOAD_LIMIT = 4L << 20;

    private static Path data;
    private static SpecValidator validator;
    private static UploadStore uploads;

    /** One data directory for the whole run (Jazzer calls the method millions of times; per-call setup would dominate). */
    private static synchronized void setUp() {
        if (data != null) return;
        try {
            data = Files.createTempDirectory("qbridge-fuzz");
            ArtifactStore artifacts = new ArtifactStore(data);
            validator = new SpecValidator(artifacts, java.util.List.of(TestServers.HOST), false);
            uploads = new UploadStore(data, artifacts, new ServerConfig.Limits(UPLOAD_LIMIT, 8, 1_000_000));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static synchronized void cleanUp() throws IOException {
        if (data == null) return;
        try (Stream<Path> all = Files.walk(data)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
        data = null;
    }

    @FuzzTest(maxDuration = "2m")
    void submitRequest(byte[] bytes) {
        setUp();
        SubmitJobRequest req;
        try {
            req = SubmitJobRequest.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            return; // gRPC answers INTERNAL "could not parse" before the service sees it; nothing of ours ran
        }
        try {
            JobServiceImpl.validateSubmit(req, validator);
        } catch (StatusRuntimeException e) {
            expect(SUBMIT_REFUSALS, e);
        }
    }

    @FuzzTest(maxDuration = "2m")
    void uploadChunk(byte[] bytes) throws IOException {
        setUp();
        UploadChunk c;
        try {
            c = UploadChunk.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            return;
        }
        try {
            UploadStore.checkChunk(c, UPLOAD_LIMIT);
            if (UploadStore.isQuery(c)) {
                uploads.received("fuzz", c.getUploadId());
                return;
            }
            uploads.append("fuzz", c);
            // a last chunk completes the upload: the digest check and, when the digest matches, the model
            // loaders run on fuzzed bytes, which must be refused as INVALID_ARGUMENT, never crash
            if (c.getLast()) uploads.complete("fuzz", c.getUploadId(), c.getSha256(), c.getName());
        } catch (StatusRuntimeException e) {
            expect(UPLOAD_REFUSALS, e);
        }
    }

    private static void expect(Set<Status.Code> allowed, StatusRuntimeException e) {
        if (!allowed.contains(e.getStatus().getCode())) fail("unexpected status " + e.getStatus(), e);
        String d = e.getStatus().getDescription();
        assertTrue(d != null && !d.isBlank(), "every refusal says why");
    }
}
