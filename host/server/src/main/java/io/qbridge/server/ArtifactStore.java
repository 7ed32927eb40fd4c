package io.qbridge.server;

import io.qbridge.protocol.v1.Artifact;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Files named by the sha256 of their content, under {@code DATA/artifacts/ab/abcdef…}.
 *
 * <p>A file enters the store only complete: it is written under {@code DATA/tmp}, fsynced, then renamed
 * atomically to its content name, and the directory is fsynced, so after a crash a name either holds the
 * whole file or does not exist. Names come only from digests computed here; a client-supplied string is
 * accepted only if it is 64 hex digits, so no client text ever becomes a path.
 */
public final class ArtifactStore {
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    private final Path root;
    private final Path tmp;

    public ArtifactStore(Path dataDir) throws IOException {
        this.root = Files.createDirectories(dataDir.resolve("artifacts"));
        this.tmp = Files.createDirectories(dataDir.resolve("tmp"));
        // whatever is here was being written when a previous server died; nothing refers to it
        try (var left = Files.list(tmp)) {
            for (Path p : (Iterable<Path>) left::iterator) Files.deleteIfExists(p);
        }
    }

    /** A fresh path under the store's temporary directory, for a writer to fill before {@link #adopt}. */
    public Path newTempFile(String suffix) {
        return tmp.resolve(UUID.randomUUID() + suffix);
    }

    /** A file whose content is not what its name or record says: it never enters the store. */
    public static final class CorruptArtifactException extends IOException {
        private static final long serialVersionUID = 1L;

        public CorruptArtifactException(String message) {
            super(message);
        }
    }

    /** Moves a finished file into the store (removing the original) and returns its description. */
    public Artifact adopt(Path file, String displayName) throws IOException {
        return adopt(file, displayName, null);
    }

    /**
     * As {@link #adopt(Path, String)}, but only if the file's sha256 is {@code expectedSha256} (a copy
     * fetched from elsewhere); otherwise the file is deleted and nothing enters the store.
     *
     * @throws CorruptArtifactException if the content does not match
     */
    public Artifact adopt(Path file, String displayName, String expectedSha256) throws IOException {
        String sha;
        long size = Files.size(file);
        force(file);
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha256())) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            sha = HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        }
        if (expectedSha256 != null && !expectedSha256.equals(sha)) {
            Files.delete(file);
            throw new CorruptArtifactException("its content has sha256 " + sha + ", not " + expectedSha256);
        }
        Path target = pathOf(sha);
        Files.createDirectories(target.getParent());
        if (Files.exists(target)) {
            Files.delete(file); // same content already stored
        } else {
            try {
                Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(tmp + " and " + root + " must be on one file system: " + e.getMessage(), e);
            }
            fsyncDirectory(target.getParent());
        }
        return Artifact.newBuilder().setSha256(sha).setSize(size).setName(displayName).build();
    }

    /**
     * Records that the stored file {@code sha256} passed upload validation as a model of {@code kind}
     * (a small {@code <sha>.model} file beside it, written atomically), so jobs may name it as
     * {@code ModelRef.upload_sha256}. Only validated uploads get this mark; a job's own artifacts do not.
     */
    public void markValidatedModel(String sha256, String kind) throws IOException {
        Path target = path(sha256).resolveSibling(sha256 + ".model");
        Path t = newTempFile(".model");
        try {
            Files.writeString(t, kind);
            force(t);
            Files.move(t, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            fsyncDirectory(target.getParent());
        } finally {
            Files.deleteIfExists(t);
        }
    }

    /** The kind {@link #markValidatedModel} recorded for a stored file, or null if it is not a validated upload. */
    public String validatedModelKind(String sha256) {
        if (!contains(sha256)) return null;
        try {
            return Files.readString(pathOf(sha256).resolveSibling(sha256 + ".model")).strip();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Stores {@code content} as an artifact: written to a temporary file, then {@link #adopt adopted}. If
     * anything fails on the way (a full disk), the temporary file is removed and nothing enters the store.
     */
    public Artifact write(String displayName, byte[] content) throws IOException {
        Path tmp = newTempFile(".part");
        try {
            try (java.io.OutputStream out = openForWrite(tmp)) {
                out.write(content);
            }
            return adopt(tmp, displayName);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Where artifact bytes meet the disk (the seam where tests inject a full disk). */
    java.io.OutputStream openForWrite(Path tmp) throws IOException {
        return Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    public boolean contains(String sha256) {
        return isSha256(sha256) && Files.isRegularFile(pathOf(sha256));
    }

    /** The stored file; only for digests this store accepts. */
    public Path path(String sha256) {
        if (!isSha256(sha256)) throw new IllegalArgumentException("not a sha256: " + sha256);
        return pathOf(sha256);
    }

    public static boolean isSha256(String s) {
        return s != null && SHA256_HEX.matcher(s).matches();
    }

    private Path pathOf(String sha) {
        return root.resolve(sha.substring(0, 2)).resolve(sha);
    }

    /** Forces a file's content and metadata to disk. */
    static void force(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Makes a rename durable: Linux needs the directory's entry flushed too. */
    static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems cannot open directories; the rename is still atomic there
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
