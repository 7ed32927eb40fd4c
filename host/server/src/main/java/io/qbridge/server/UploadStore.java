package io.qbridge.server;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.model.bert.BertEncoder;
import io.qbridge.model.onnx.OnnxGraph;
import io.qbridge.pipeline.QuantizedEncoders;
import io.qbridge.protocol.v1.Artifact;
import io.qbridge.protocol.v1.UploadChunk;
import io.qbridge.protocol.v1.UploadStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Model uploads in progress and their completion (the rules are in {@code jobs.proto} at UploadModel).
 *
 * <p>An unfinished upload is one file, {@code DATA/uploads/<client digest>/<upload id>.part}: the client
 * part of the name is a digest of the caller's name and the id must match {@link #UPLOAD_ID}, so no
 * client text is ever used as a path as it is. Its length is the acknowledged size: each chunk is written
 * at the end and forced to disk before the next is taken, so a resume after a broken connection or a
 * server restart continues exactly where the bytes end. A finished upload is checked (sha256, then
 * "does it load as a model" with the same loaders jobs use) and only then moved into the
 * {@link ArtifactStore} and marked as a validated model; a failed check deletes it.
 *
 * <p>Fleet mode: a checked upload is copied into the shared database with its kind ({@link SharedArtifacts})
 * before it enters the local store and before the client hears it is complete, so an acknowledged upload is
 * visible to every server of the fleet. If that copy fails, the whole file stays as the unfinished upload and
 * the client is told UNAVAILABLE: its retry finds all bytes there and only sends the last (empty) chunk again.
 * A {@code .qbz} upload whose file base was uploaded to another server finds it through the database.
 *
 * <p>Chunks of one upload are handled one at a time (striped locks), so a resumed stream racing an old one
 * that the server has not yet seen end can only append at the acknowledged size.
 */
final class UploadStore {
    static final int MAX_CHUNK = 1 << 20;
    static final Pattern UPLOAD_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    private final Path root;
    private final ArtifactStore artifacts;
    private final ServerConfig.Limits limits;
    private final SharedArtifacts shared; // null: no fleet
    private final Object[] locks = new Object[64];

    /** An unfinished upload untouched this long is deleted when the server starts: its client has given up. */
    static final Duration ABANDONED = Duration.ofDays(7);

    UploadStore(Path dataDir, ArtifactStore artifacts, ServerConfig.Limits limits) throws IOException {
        this(dataDir, artifacts, limits, null);
    }

    /** @param shared the fleet's shared database, or null on a single server */
    UploadStore(Path dataDir, ArtifactStore artifacts, ServerConfig.Limits limits, SharedArtifacts shared) throws IOException {
        this.root = Files.createDirectories(dataDir.resolve("uploads"));
        this.artifacts = artifacts;
        this.limits = limits;
        this.shared = shared;
        for (int i = 0; i < locks.length; i++) locks[i] = new Object();
        deleteAbandoned(Instant.now().minus(ABANDONED));
    }

    /** Deletes unfinished uploads last written before {@code cutoff}; returns how many. */
    int deleteAbandoned(Instant cutoff) throws IOException {
        int n = 0;
        try (Stream<Path> all = Files.walk(root, 2)) {
            for (Path p : all.filter(f -> f.getFileName().toString().endsWith(".part")).toList()) {
                if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff) && Files.deleteIfExists(p)) n++;
            }
        }
        if (n > 0) ServerLog.info("deleted %d unfinished uploads untouched for %d days", n, ABANDONED.toDays());
        return n;
    }

    /**
     * The checks of one chunk that need no state: the id, the sizes, the digest's form. Throws a status
     * exception (INVALID_ARGUMENT or RESOURCE_EXHAUSTED) naming the field; the fuzz test drives this.
     */
    static void checkChunk(UploadChunk c, long maxUploadBytes) {
        if (!UPLOAD_ID.matcher(c.getUploadId()).matches()) {
            throw invalid("upload_id: must be 1 to 64 characters of A-Z a-z 0-9 _ - (got " + quote(c.getUploadId()) + ")");
        }
        if (c.getOffset() < 0) throw invalid("offset: must not be negative (got " + c.getOffset() + ")");
        if (c.getData().size() > MAX_CHUNK) throw invalid("data: a chunk holds at most " + MAX_CHUNK + " bytes (got " + c.getData().size() + ")");
        if (c.getOffset() > maxUploadBytes - c.getData().size()) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("upload " + c.getUploadId() + " would exceed the server's upload limit of " + maxUploadBytes + " bytes")
                    .asRuntimeException();
        }
        if (c.getLast()) {
            if (!SHA256_HEX.matcher(c.getSha256()).matches()) throw invalid("sha256: the last chunk must carry the file's sha256 as 64 lowercase hex digits");
        } else if (!c.getSha256().isEmpty()) {
            throw invalid("sha256: only the last chunk carries the sha256");
        }
        if (c.getName().length() > 255) throw invalid("name: at most 255 characters");
    }

    /** Whether a chunk only asks where the upload stands (see jobs.proto). */
    static boolean isQuery(UploadChunk c) {
        return c.getData().isEmpty() && !c.getLast();
    }

    /** The bytes held for the caller's upload {@code id}; 0 if none. */
    long received(String client, String id) throws IOException {
        synchronized (lock(client, id)) {
            Path p = partPath(client, id);
            return Files.isRegularFile(p) ? Files.size(p) : 0;
        }
    }

    /**
     * Appends one checked chunk and forces it to disk; returns the new acknowledged size. On a limit the
     * upload is dropped (it can never complete); on a wrong offset it is kept, and the message says where
     * to continue.
     */
    long append(String client, UploadChunk c) throws IOException {
        String id = c.getUploadId();
        synchronized (lock(client, id)) {
            Path p = partPath(client, id);
            long have = Files.isRegularFile(p) ? Files.size(p) : 0;
            if (have == 0 && !Files.exists(p)) {
                Files.createDirectories(p.getParent());
                try (var open = Files.list(p.getParent())) {
                    if (open.count() >= limits.maxOpenUploadsPerClient()) {
                        throw Status.RESOURCE_EXHAUSTED.withDescription("you already have " + limits.maxOpenUploadsPerClient()
                                + " unfinished uploads on this server (its limit); finish or resume one of them first").asRuntimeException();
                    }
                }
            }
            if (c.getOffset() != have) {
                throw Status.FAILED_PRECONDITION.withDescription("upload " + id + ": chunk at offset " + c.getOffset() + ", but the server holds " + have
                        + " bytes of it; continue at offset " + have).asRuntimeException();
            }
            if (have + c.getData().size() > limits.maxUploadBytes()) { // checkChunk saw the same offset; kept for safety
                Files.deleteIfExists(p);
                throw Status.RESOURCE_EXHAUSTED.withDescription("upload " + id + " exceeds the server's upload limit of " + limits.maxUploadBytes() + " bytes")
                        .asRuntimeException();
            }
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ByteBuffer b = c.getData().asReadOnlyByteBuffer();
                long pos = have;
                while (b.hasRemaining()) pos += ch.write(b, pos);
                ch.force(false);
            }
            return have + c.getData().size();
        }
    }

    /** Drops an upload that exceeded the size limit, so its bytes do not stay on disk. */
    void drop(String client, String id) throws IOException {
        synchronized (lock(client, id)) {
            Files.deleteIfExists(partPath(client, id));
        }
    }

    /**
     * Completes an upload whose last chunk was appended: checks the whole file's sha256, validates it as a
     * model and stores it. Any failure deletes the upload: nothing partial is kept or stored.
     */
    UploadStatus complete(String client, String id, String sha256, String name) throws IOException {
        synchronized (lock(client, id)) {
            Path p = partPath(client, id);
            long size = Files.size(p);
            String got;
            try (DigestInputStream in = new DigestInputStream(Files.newInputStream(p), ArtifactStore.sha256())) {
                in.transferTo(java.io.OutputStream.nullOutputStream());
                got = HexFormat.of().formatHex(in.getMessageDigest().digest());
            }
            if (!got.equals(sha256)) {
                Files.delete(p);
                throw invalid("sha256: the " + size + " bytes received have sha256 " + got + ", not " + sha256 + "; the upload is dropped, start it again");
            }
            String kind;
            try {
                kind = validateModel(p, UploadedModels.bases(artifacts, UploadedModels.source(artifacts, shared)));
            } catch (StatusRuntimeException e) {
                Files.delete(p);
                throw e;
            }
            if (shared != null) {
                try {
                    shared.put(sha256, p, kind); // reads the upload again, checking it is still sha256
                } catch (java.sql.SQLException e) {
                    ServerLog.info("upload %s of %s: copying it into the shared database failed (kept for a retry): %s", id, client, e);
                    throw Status.UNAVAILABLE.withDescription("upload " + id + ": the fleet's shared database failed while storing it; retry (all "
                            + size + " bytes are kept, only the last chunk is needed again)").asRuntimeException();
                }
            }
            Artifact a = artifacts.adopt(p, name.isEmpty() ? "upload-" + sha256.substring(0, 12) : name);
            artifacts.markValidatedModel(a.getSha256(), kind);
            ServerLog.info("upload %s of %s complete: %d bytes, %s model, sha256 %s", id, client, size, kind, a.getSha256());
            return UploadStatus.newBuilder().setUploadId(id).setReceived(size).setComplete(true).setSha256(a.getSha256()).build();
        }
    }

    /**
     * "qbz", "decoder" or "onnx" if the file loads with the loaders jobs use, otherwise INVALID_ARGUMENT saying why:
     * a decoder .qbz must load whole with its tokenizer; another file starting with the .qbz magic must load as a container onto its built-in base or onto the
     * uploaded file base {@code bases} finds, any other file must parse as ONNX and yield a BERT encoder.
     */
    static String validateModel(Path file, QuantizedEncoders.BaseLookup bases) {
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("cannot read the upload back").asRuntimeException();
        }
        if (n == 4 && head[0] == 'Q' && head[1] == 'B' && head[2] == 'Z' && head[3] == 1) {
            try {
                if (UploadedModels.isDecoderContainer(file)) {
                    // everything a decoder job loads: the model with its packed layers, and the tokenizer it carries
                    io.qbridge.pipeline.QuantizedDecoders.Loaded q = io.qbridge.pipeline.QuantizedDecoders.load(file);
                    q.textTokenizer("upload");
                    return UploadedModels.DECODER;
                }
                QuantizedEncoders.load(file, bases);
                return "qbz";
            } catch (IOException | RuntimeException e) {
                throw invalid("not a usable model: a .qbz container that does not load: " + reason(e));
            }
        }
        try (InputStream in = Files.newInputStream(file)) {
            BertEncoder.fromOnnx(OnnxGraph.read(in, "upload"));
            return "onnx";
        } catch (IOException | RuntimeException e) {
            throw invalid("not a usable model: neither a .qbz container nor a BERT .onnx the encoder loader accepts: " + reason(e));
        }
    }

    private static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private Path partPath(String client, String id) {
        if (!UPLOAD_ID.matcher(id).matches()) throw new IllegalArgumentException("unchecked upload id");
        String who = HexFormat.of().formatHex(ArtifactStore.sha256().digest(client.getBytes(StandardCharsets.UTF_8))).substring(0, 32);
        return root.resolve(who).resolve(id + ".part");
    }

    private Object lock(String client, String id) {
        return locks[Math.floorMod((client + '\0' + id).hashCode(), locks.length)];
    }

    private static String quote(String s) {
        return s.length() > 80 ? "'" + s.substring(0, 80) + "…'" : "'" + s + "'";
    }

    static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    static UploadStatus status(String id, long received) {
        return UploadStatus.newBuilder().setUploadId(id).setReceived(received).build();
    }
}
