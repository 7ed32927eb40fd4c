package io.qbridge.server;

import io.qbridge.protocol.v1.Artifact;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HexFormat;

/**
 * Job artifacts in the shared database of a fleet, so that every server can serve every job's files, not
 * only the server that ran the job. Tables {@code artifact_blobs} (sha256, size, chunk count) and
 * {@code artifact_chunks} (sha256, index, up to {@link #CHUNK} bytes), keyed by content like the local
 * {@link ArtifactStore}.
 *
 * <p>Written once, whole: the owner of a job copies its artifacts here after they are in its local store
 * and before the job is recorded SUCCEEDED, the blob row and all its chunks in one transaction, so nothing
 * half-written is ever visible and whoever sees a job succeed can fetch its files through any server.
 * Read by copying into the reader's local store (a temporary file, its sha256 checked, then renamed), so a
 * missing or altered chunk fails the fetch before a single byte reaches a client, and the next download of
 * the same file on that server is local.
 *
 * <p>Uploaded models too ({@link UploadStore}): a completed upload is copied here with its validated kind
 * ({@code model_kind}, the database's form of {@link ArtifactStore#markValidatedModel}) before the client is
 * told it is complete, so every server of the fleet accepts, and runs, a job naming it. A job that names a
 * stored file by sha256 (an upload, an earlier job's {@code .qbz}, a {@code .qbz}'s file base) gets it into
 * the local store of whichever server runs it through {@link #materialise}, checked like a download.
 *
 * <p>Its own connection, used under this object's lock: moving many MiB must not hold up the job store's
 * connection (claims, leases, watch events).
 */
final class SharedArtifacts implements AutoCloseable {
    /** Bytes per chunk row: far below PostgreSQL's 1 GB per value, and what one DownloadArtifact message carries. */
    static final int CHUNK = ArtifactDownload.CHUNK;

    /** The database has no copy of the artifact at all (a job finished by a server from before fleet artifacts). */
    static final class NotSharedException extends IOException {
        private static final long serialVersionUID = 1L;

        NotSharedException(String message) {
            super(message);
        }
    }

    private final JobStoreDialect dialect;
    private Connection db;
    private boolean closed;

    SharedArtifacts(JobStoreDialect dialect) {
        this.dialect = dialect;
    }

    /** True when the database holds the whole artifact. */
    synchronized boolean contains(String sha256) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT 1 FROM artifact_blobs WHERE sha256 = ?")) {
            ps.setString(1, sha256);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw noteFailure(e);
        }
    }

    /**
     * Copies the file {@code sha256} of the local store into the database, unless it is there already
     * (another server may be copying the same content at the same moment: one of them wins, the other
     * finds it there). The local file is checked against its name on the way.
     *
     * @throws ArtifactStore.CorruptArtifactException if the local file's content is not {@code sha256}
     */
    synchronized void put(String sha256, Path file) throws SQLException, IOException {
        put(sha256, file, null);
    }

    /**
     * As {@link #put(String, Path)}, and when {@code modelKind} is not null ("qbz", "decoder" or "onnx": a validated
     * upload) records it with the blob, in the same transaction for a new blob, so the file is never visible
     * as an upload before it is whole. Content already there (an earlier job's artifact) just gets the kind.
     */
    synchronized void put(String sha256, Path file, String modelKind) throws SQLException, IOException {
        if (contains(sha256)) {
            if (modelKind != null) markModel(sha256, modelKind);
            return;
        }
        long size = Files.size(file);
        int chunks = (int) ((size + CHUNK - 1) / CHUNK);
        Connection c = connection();
        c.setAutoCommit(false);
        try {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO artifact_blobs (sha256, size, chunks, created, model_kind) VALUES (?, ?, ?, ?, ?)")) {
                ps.setString(1, sha256);
                ps.setLong(2, size);
                ps.setInt(3, chunks);
                ps.setLong(4, System.currentTimeMillis());
                ps.setString(5, modelKind);
                ps.executeUpdate(); // first: a concurrent writer of the same content waits here, then fails on the key
            }
            MessageDigest md = ArtifactStore.sha256();
            try (InputStream in = Files.newInputStream(file);
                 PreparedStatement ps = c.prepareStatement("INSERT INTO artifact_chunks (sha256, idx, data) VALUES (?, ?, ?)")) {
                for (int i = 0; i < chunks; i++) {
                    byte[] b = in.readNBytes((int) Math.min(CHUNK, size - (long) i * CHUNK));
                    md.update(b);
                    ps.setString(1, sha256);
                    ps.setInt(2, i);
                    ps.setBytes(3, b);
                    ps.executeUpdate();
                }
                if (in.read() >= 0) throw new IOException(file + " grew while it was copied");
            }
            String got = HexFormat.of().formatHex(md.digest());
            if (!got.equals(sha256)) throw new ArtifactStore.CorruptArtifactException("the local copy of artifact " + sha256 + " has sha256 " + got);
            c.commit();
        } catch (SQLException e) {
            rollbackQuietly(c);
            if ("23505".equals(e.getSQLState()) && contains(sha256)) { // unique_violation: the other writer committed it
                if (modelKind != null) markModel(sha256, modelKind);
                return;
            }
            throw noteFailure(e);
        } catch (IOException | RuntimeException e) {
            rollbackQuietly(c);
            throw e;
        } finally {
            if (!c.isClosed()) {
                try {
                    c.setAutoCommit(true);
                } catch (SQLException e) {
                    noteFailure(e);
                }
            }
        }
    }

    private void markModel(String sha256, String modelKind) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("UPDATE artifact_blobs SET model_kind = ? WHERE sha256 = ? AND model_kind IS NULL")) {
            ps.setString(1, modelKind);
            ps.setString(2, sha256);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw noteFailure(e);
        }
    }

    /** The kind ("qbz", "decoder" or "onnx") of a validated upload the database holds whole; null if it holds no such upload. */
    synchronized String modelKind(String sha256) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT model_kind FROM artifact_blobs WHERE sha256 = ?")) {
            ps.setString(1, sha256);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            throw noteFailure(e);
        }
    }

    /**
     * Makes the stored file {@code sha256} a job names present in the local store: copied from the database
     * (checked as {@link #fetchInto}) when this server lacks it, and, when the database records it as a
     * validated upload, marked so locally too. False when neither this server nor the database has it.
     *
     * @throws ArtifactStore.CorruptArtifactException if the shared copy is incomplete or not {@code sha256}
     */
    synchronized boolean materialise(ArtifactStore local, String sha256) throws SQLException, IOException {
        if (!local.contains(sha256)) {
            try {
                fetch(local, sha256, -1, "shared-" + sha256.substring(0, 12));
            } catch (NotSharedException e) {
                return false;
            }
        }
        if (local.validatedModelKind(sha256) == null) {
            String kind = modelKind(sha256);
            if (kind != null) local.markValidatedModel(sha256, kind);
        }
        return true;
    }

    /**
     * Copies artifact {@code a} from the database into the local store, checked against its size and
     * sha256 before it gets its content name.
     *
     * @throws NotSharedException if the database has no copy of it
     * @throws ArtifactStore.CorruptArtifactException if a chunk is missing or the bytes are not the artifact's
     */
    synchronized void fetchInto(ArtifactStore local, Artifact a) throws SQLException, IOException {
        fetch(local, a.getSha256(), a.getSize(), a.getName());
    }

    /** @param expectedSize what the job recorded, or -1 to take the database's record */
    private void fetch(ArtifactStore local, String sha, long expectedSize, String name) throws SQLException, IOException {
        if (local.contains(sha)) return; // another download here copied it while this one waited for the lock
        long size;
        int chunks;
        try (PreparedStatement ps = connection().prepareStatement("SELECT size, chunks FROM artifact_blobs WHERE sha256 = ?")) {
            ps.setString(1, sha);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) throw new NotSharedException("artifact " + sha + " is not in the shared database");
                size = rs.getLong(1);
                chunks = rs.getInt(2);
            }
        } catch (SQLException e) {
            throw noteFailure(e);
        }
        if (expectedSize >= 0 && size != expectedSize) {
            throw new ArtifactStore.CorruptArtifactException("the shared copy of artifact " + sha + " records " + size + " bytes, the job " + expectedSize);
        }
        Path tmp = local.newTempFile(".shared");
        try {
            long written = 0;
            try (OutputStream out = Files.newOutputStream(tmp);
                 PreparedStatement ps = connection().prepareStatement("SELECT data FROM artifact_chunks WHERE sha256 = ? AND idx = ?")) {
                for (int i = 0; i < chunks; i++) {
                    ps.setString(1, sha);
                    ps.setInt(2, i);
                    byte[] b;
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) throw new ArtifactStore.CorruptArtifactException("chunk " + i + " of " + chunks + " of the shared copy of artifact " + sha + " is missing");
                        b = rs.getBytes(1);
                    }
                    long expected = Math.min(CHUNK, size - (long) i * CHUNK);
                    if (b.length != expected) {
                        throw new ArtifactStore.CorruptArtifactException("chunk " + i + " of the shared copy of artifact " + sha + " has " + b.length + " bytes, expected " + expected);
                    }
                    out.write(b);
                    written += b.length;
                }
            } catch (SQLException e) {
                throw noteFailure(e);
            }
            if (written != size) throw new ArtifactStore.CorruptArtifactException("the shared copy of artifact " + sha + " has " + written + " bytes, expected " + size);
            try {
                local.adopt(tmp, name, sha);
            } catch (ArtifactStore.CorruptArtifactException e) {
                throw new ArtifactStore.CorruptArtifactException("the shared copy of artifact " + sha + " is corrupt: " + e.getMessage());
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (db == null) return;
        try {
            db.close();
        } catch (SQLException ignored) {
            // closing: nothing is pending on this connection outside a transaction
        }
        db = null;
    }

    /** The connection, opened on first use and again after a failure that broke it. */
    private Connection connection() throws SQLException {
        if (closed) throw new SQLException("the job store is closed");
        if (db == null) db = dialect.connect();
        return db;
    }

    /** Drops a connection that a failure may have broken (the next call opens a new one) and returns the failure. */
    private SQLException noteFailure(SQLException e) {
        String state = e.getSQLState();
        boolean broken = state != null && state.startsWith("08");
        try {
            broken |= db != null && db.isClosed();
        } catch (SQLException ignored) {
            broken = true;
        }
        if (broken && db != null) {
            try {
                db.close();
            } catch (SQLException ignored) {
                // it is broken: closing is only tidying up
            }
            db = null;
        }
        return e;
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // the connection is gone; the transaction with it
        }
    }
}
