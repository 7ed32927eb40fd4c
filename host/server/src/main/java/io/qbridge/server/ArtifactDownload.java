package io.qbridge.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.ArtifactChunk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * One DownloadArtifact call: the file in 1 MiB chunks from an offset, sent only while the client keeps
 * up (gRPC's onReady), so a slow reader of a large container does not make the server buffer all of it.
 * Only artifacts a job produced are served.
 *
 * <p>Fleet mode: an artifact made by another server is first copied from the shared database into this
 * server's store ({@link SharedArtifacts#fetchInto}, checked against its sha256), then served from there;
 * a missing or corrupt shared copy is DATA_LOSS before any byte is sent.
 */
final class ArtifactDownload {
    static final int CHUNK = 1 << 20;

    private final ArtifactStore artifacts;
    private final SharedArtifacts shared; // null: the embedded store, one server has every artifact
    private final ServerCallStreamObserver<ArtifactChunk> out;
    private Artifact artifact;
    private FileChannel file;
    private long pos;
    private boolean done;

    ArtifactDownload(ArtifactStore artifacts, SharedArtifacts shared, ServerCallStreamObserver<ArtifactChunk> out) {
        this.artifacts = artifacts;
        this.shared = shared;
        this.out = out;
    }

    void send(StoredJob job, String sha256, long offset) {
        java.util.List<Artifact> all = JobArtifacts.of(job.result());
        if (all.isEmpty()) {
            fail(Status.NOT_FOUND.withDescription("job " + job.id() + " has no artifact" + (job.isFinal() ? "" : " yet")));
            return;
        }
        Artifact a = sha256.isEmpty() ? all.getFirst() : all.stream().filter(x -> x.getSha256().equals(sha256)).findFirst().orElse(null);
        if (a == null) {
            fail(Status.NOT_FOUND.withDescription("job " + job.id() + " has no artifact " + sha256));
            return;
        }
        if (offset < 0 || offset > a.getSize()) {
            fail(Status.OUT_OF_RANGE.withDescription("offset " + offset + " is outside the artifact (" + a.getSize() + " bytes)"));
            return;
        }
        if (shared != null && !artifacts.contains(a.getSha256()) && !fetchShared(job, a)) return;
        try {
            file = FileChannel.open(artifacts.path(a.getSha256()), StandardOpenOption.READ);
        } catch (java.nio.file.NoSuchFileException e) { // fleet mode, a job of a server from before fleet artifacts: only its --data has it
            fail(Status.FAILED_PRECONDITION.withDescription("artifact " + a.getSha256() + " of job " + job.id()
                    + " is not stored on this server; artifacts stay on the server that ran the job (fleet mode): fetch it there"));
            return;
        } catch (IOException e) {
            unreadable(a, e);
            return;
        }
        artifact = a;
        pos = offset;
        out.setOnCancelHandler(this::close);
        out.setOnReadyHandler(this::drain);
        drain(); // the first onReady may already have passed
    }

    /**
     * Copies an artifact another server made from the shared database into the local store; false (the
     * call failed with a status naming the problem) if that is not possible.
     */
    private boolean fetchShared(StoredJob job, Artifact a) {
        try {
            shared.fetchInto(artifacts, a);
            return true;
        } catch (SharedArtifacts.NotSharedException e) {
            return true; // not in the database either: the local open below reports where it is
        } catch (ArtifactStore.CorruptArtifactException e) {
            ServerLog.info("artifact %s of job %s: %s", a.getSha256(), job.id(), e.getMessage());
            fail(Status.DATA_LOSS.withDescription("artifact " + a.getSha256() + " of job " + job.id() + " cannot be served: " + e.getMessage()));
        } catch (IOException e) { // this server's disk, not the shared copy (a full disk): the artifact itself is fine
            ServerLog.info("artifact %s of job %s: copying it from the shared database failed: %s", a.getSha256(), job.id(), e);
            fail(Status.INTERNAL.withDescription("artifact " + a.getSha256() + " of job " + job.id() + " could not be copied into this server's store"));
        } catch (java.sql.SQLException e) {
            ServerLog.info("artifact %s: the shared database failed: %s", a.getSha256(), e);
            fail(Status.UNAVAILABLE.withDescription("artifact " + a.getSha256() + " of job " + job.id() + ": the shared database failed; retry"));
        }
        return false;
    }

    /** Sends chunks while the transport takes them; runs on the call's serialized executor. */
    private void drain() {
        if (done || file == null) return;
        try {
            while (out.isReady() && pos < artifact.getSize()) {
                ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, artifact.getSize() - pos));
                while (buf.hasRemaining()) {
                    if (file.read(buf, pos + buf.position()) < 0) throw new IOException("shorter than the recorded " + artifact.getSize() + " bytes");
                }
                buf.flip();
                out.onNext(ArtifactChunk.newBuilder().setOffset(pos).setData(ByteString.copyFrom(buf)).setTotalSize(artifact.getSize())
                        .setSha256(artifact.getSha256()).setName(artifact.getName()).build());
                pos += buf.limit();
            }
            if (pos >= artifact.getSize()) {
                close();
                out.onCompleted();
            }
        } catch (IOException e) {
            close();
            unreadable(artifact, e);
        }
    }

    private void unreadable(Artifact a, IOException e) {
        ServerLog.info("artifact %s: %s", a.getSha256(), e.getMessage());
        fail(Status.DATA_LOSS.withDescription("artifact " + a.getSha256() + " cannot be read"));
    }

    private void fail(Status s) {
        done = true;
        out.onError(s.asRuntimeException());
    }

    private void close() {
        done = true;
        if (file == null) return;
        try {
            file.close();
        } catch (IOException ignored) {
            // read-only: nothing to lose
        }
    }
}
