package io.qbridge.client;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.qbridge.protocol.v1.JobServiceGrpc;
import io.qbridge.protocol.v1.UploadChunk;
import io.qbridge.protocol.v1.UploadStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.LongConsumer;

/**
 * One model upload with resume (the protocol is described in {@code jobs.proto} at UploadModel): ask the
 * server how much it holds, stream the rest in 1 MiB chunks (sending only while the transport is ready, so
 * a large file is never buffered whole), the last chunk carrying the file's sha256; after a broken
 * connection, ask again and continue.
 */
final class ModelUpload {
    static final int CHUNK = 1 << 20;
    static final int ATTEMPTS = 5;

    private final JobServiceGrpc.JobServiceStub stub;
    private final Path file;
    private final String givenId;
    private final LongConsumer sent;

    ModelUpload(JobServiceGrpc.JobServiceStub stub, Path file, String uploadId, LongConsumer sent) {
        this.stub = stub;
        this.file = file;
        this.givenId = uploadId;
        this.sent = sent == null ? n -> {} : sent;
    }

    QbridgeClient.Upload run() throws IOException, InterruptedException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such file");
        long size = Files.size(file);
        String sha = sha256(file);
        String id = givenId != null ? givenId : "f" + sha.substring(0, 40);
        String name = file.getFileName().toString();
        StatusRuntimeException last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            if (attempt > 0) Thread.sleep(200L << attempt);
            try {
                long at = call(id, stream -> stream.requests.onNext(UploadChunk.newBuilder().setUploadId(id).build())).getReceived();
                if (at > size) throw new IOException("the server holds " + at + " bytes of upload " + id + " but " + file + " has only " + size + "; use another upload id");
                sent.accept(at);
                UploadStatus done = call(id, stream -> sendFrom(stream, id, name, sha, at, size));
                if (!done.getComplete()) throw new IOException("the server did not complete upload " + id + " (it holds " + done.getReceived() + " bytes)");
                if (!done.getSha256().equals(sha)) throw new IOException("the server stored sha256 " + done.getSha256() + ", expected " + sha);
                return new QbridgeClient.Upload(sha, size, at);
            } catch (StatusRuntimeException e) {
                Status.Code c = e.getStatus().getCode();
                // a broken connection, or (FAILED_PRECONDITION) chunks of the broken stream that reached the server
                // after we asked: either way, ask again where the server is and go on from there
                if (c != Status.Code.UNAVAILABLE && c != Status.Code.DEADLINE_EXCEEDED && c != Status.Code.ABORTED && c != Status.Code.FAILED_PRECONDITION) throw e;
                last = e;
            }
        }
        throw last;
    }

    private interface Sender {
        void send(Stream stream) throws IOException, InterruptedException;
    }

    /** One UploadModel call: runs {@code sender}, closes the request stream and waits for the answer. */
    private UploadStatus call(String id, Sender sender) throws IOException, InterruptedException {
        Stream stream = new Stream();
        stub.uploadModel(stream);
        try {
            sender.send(stream);
            stream.requests.onCompleted();
        } catch (IOException | InterruptedException | RuntimeException e) {
            stream.requests.cancel("upload stopped by the client", e);
            throw e;
        }
        try {
            return stream.answer.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException s) throw s;
            throw Status.fromThrowable(e.getCause()).asRuntimeException();
        }
    }

    private void sendFrom(Stream stream, String id, String name, String sha, long from, long size) throws IOException, InterruptedException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long pos = from;
            do {
                int n = (int) Math.min(CHUNK, size - pos);
                ByteBuffer buf = ByteBuffer.allocate(n);
                while (buf.hasRemaining()) {
                    if (ch.read(buf, pos + buf.position()) < 0) throw new IOException(file + " shrank while it was being uploaded");
                }
                buf.flip();
                boolean lastChunk = pos + n == size;
                UploadChunk.Builder c = UploadChunk.newBuilder().setUploadId(id).setOffset(pos).setData(ByteString.copyFrom(buf)).setName(name);
                if (lastChunk) c.setLast(true).setSha256(sha);
                if (!stream.awaitReady()) return; // the server answered early (an error): stop sending
                stream.requests.onNext(c.build());
                pos += n;
                sent.accept(pos);
            } while (pos < size);
        }
    }

    /** The response side of one call, with a wait for the transport's readiness. */
    private static final class Stream implements ClientResponseObserver<UploadChunk, UploadStatus> {
        final CompletableFuture<UploadStatus> answer = new CompletableFuture<>();
        ClientCallStreamObserver<UploadChunk> requests;
        private final Object ready = new Object();

        @Override
        public void beforeStart(ClientCallStreamObserver<UploadChunk> r) {
            requests = r;
            r.setOnReadyHandler(() -> {
                synchronized (ready) {
                    ready.notifyAll();
                }
            });
        }

        /** Waits until the transport takes another message; false if the call has already ended. */
        boolean awaitReady() throws InterruptedException {
            synchronized (ready) {
                while (!requests.isReady() && !answer.isDone()) ready.wait(100);
            }
            return !answer.isDone();
        }

        @Override
        public void onNext(UploadStatus s) {
            answer.complete(s);
        }

        @Override
        public void onError(Throwable t) {
            answer.completeExceptionally(t);
            synchronized (ready) {
                ready.notifyAll();
            }
        }

        @Override
        public void onCompleted() {
            if (!answer.isDone()) answer.completeExceptionally(Status.INTERNAL.withDescription("the server ended the upload without an answer").asRuntimeException());
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
