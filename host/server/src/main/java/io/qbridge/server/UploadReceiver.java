package io.qbridge.server;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.qbridge.protocol.v1.UploadChunk;
import io.qbridge.protocol.v1.UploadStatus;
import java.io.IOException;

/**
 * One UploadModel stream: checks each chunk, appends it through {@link UploadStore}, and answers once,
 * at the last chunk or when the client closes the stream. After an error it ignores the rest of the
 * stream. gRPC delivers a call's messages one at a time, and the next only after {@link #onNext}
 * returns, so a fast client waits for the disk instead of filling the server's memory.
 */
final class UploadReceiver implements StreamObserver<UploadChunk> {
    private final UploadStore uploads;
    private final String client;
    private final long maxUploadBytes;
    private final StreamObserver<UploadStatus> out;
    private String id;
    private long received;
    private boolean done;

    UploadReceiver(UploadStore uploads, String client, long maxUploadBytes, StreamObserver<UploadStatus> out) {
        this.uploads = uploads;
        this.client = client;
        this.maxUploadBytes = maxUploadBytes;
        this.out = out;
    }

    @Override
    public void onNext(UploadChunk c) {
        if (done) return;
        try {
            if (id != null && !c.getUploadId().equals(id)) {
                throw UploadStore.invalid("upload_id: every chunk of a stream carries the same id (" + id + "), not '" + c.getUploadId() + "'");
            }
            try {
                UploadStore.checkChunk(c, maxUploadBytes);
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) uploads.drop(client, c.getUploadId());
                throw e;
            }
            id = c.getUploadId();
            if (UploadStore.isQuery(c)) {
                received = uploads.received(client, id);
                return;
            }
            received = uploads.append(client, c);
            if (c.getLast()) {
                UploadStatus s = uploads.complete(client, id, c.getSha256(), c.getName());
                done = true;
                out.onNext(s);
                out.onCompleted();
            }
        } catch (StatusRuntimeException e) {
            done = true;
            out.onError(e);
        } catch (IOException e) {
            done = true;
            ServerLog.info("upload %s of %s: %s", id, client, e);
            out.onError(Status.INTERNAL.withDescription("the server could not store the upload (its log says why)").asRuntimeException());
        }
    }

    /** The client went away (a broken connection): what was written stays for a resume. */
    @Override
    public void onError(Throwable t) {
        done = true;
    }

    @Override
    public void onCompleted() {
        if (done) return;
        done = true;
        if (id == null) {
            out.onError(UploadStore.invalid("the stream held no chunk: send at least one with the upload_id"));
            return;
        }
        out.onNext(UploadStore.status(id, received));
        out.onCompleted();
    }
}
