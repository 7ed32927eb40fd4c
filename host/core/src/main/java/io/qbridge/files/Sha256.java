package io.qbridge.files;

import java.nio.ByteBuffer;
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
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b.duplicate());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }
}
