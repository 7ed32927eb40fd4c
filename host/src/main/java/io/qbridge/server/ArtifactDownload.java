package io.qbridge.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.ArtifactChunk;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** One DownloadArtifact call: the file in 1 MiB chunks from an offset. Only artifacts a job produced are served. */
final class ArtifactDownload {
    static final int CHUNK = 1 << 20;

    private final ArtifactStore artifacts;
    private final ServerCallStreamObserver<ArtifactChunk> out;

    ArtifactDownload(ArtifactStore artifacts, ServerCallStreamObserver<ArtifactChunk> out) {
        this.artifacts = artifacts;
        this.out = out;
    }

    void send(StoredJob job, String sha256, long offset) {
        Artifact a = job.result() != null && job.result().hasQuantize() ? job.result().getQuantize().getContainer() : null;
        if (a == null) {
            out.onError(Status.NOT_FOUND.withDescription("job " + job.id() + " has no artifact" + (job.isFinal() ? "" : " yet")).asRuntimeException());
            return;
        }
        if (!sha256.isEmpty() && !sha256.equals(a.getSha256())) {
            out.onError(Status.NOT_FOUND.withDescription("job " + job.id() + " has no artifact " + sha256).asRuntimeException());
            return;
        }
        if (offset < 0 || offset > a.getSize()) {
            out.onError(Status.OUT_OF_RANGE.withDescription("offset " + offset + " is outside the artifact (" + a.getSize() + " bytes)").asRuntimeException());
            return;
        }
        Path file = artifacts.path(a.getSha256());
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(offset);
            long pos = offset;
            byte[] buf = new byte[CHUNK];
            while (pos < a.getSize()) {
                if (out.isCancelled()) return;
                int n = in.readNBytes(buf, 0, (int) Math.min(CHUNK, a.getSize() - pos));
                if (n <= 0) throw new IOException("artifact " + a.getSha256() + " is shorter than recorded");
                out.onNext(ArtifactChunk.newBuilder().setOffset(pos).setData(ByteString.copyFrom(buf, 0, n)).setTotalSize(a.getSize())
                        .setSha256(a.getSha256()).build());
                pos += n;
            }
            out.onCompleted();
        } catch (IOException e) {
            ServerLog.info("artifact %s: %s", a.getSha256(), e.getMessage());
            out.onError(Status.DATA_LOSS.withDescription("artifact " + a.getSha256() + " cannot be read").asRuntimeException());
        }
    }
}
