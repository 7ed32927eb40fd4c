package io.qbridge.files;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 digests as lower-case hex, the form containers, corpora, codebooks and the resource cache pin content by. */
public final class Sha256 {
    private Sha256() {}

    public static String hex(byte[] bytes) {
        return hex(ByteBuffer.wrap(bytes));
    }

    /** The digest of {@code b}'s remaining bytes; {@code b}'s position is left where it was. */
    public static String hex(ByteBuffer b) {
        MessageDigest md = digest();
        md.update(b.duplicate());
        return HexFormat.of().formatHex(md.digest());
    }

    /** The digest of a file's bytes, read as a stream (a checkpoint need not fit in memory). */
    public static String hex(Path file) throws IOException {
        MessageDigest md = digest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream()); // the digest stream does the work
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** A fresh SHA-256 digest, for a caller that feeds it several parts. */
    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }
}
