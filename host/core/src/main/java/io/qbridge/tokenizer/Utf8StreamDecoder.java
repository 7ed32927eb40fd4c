package io.qbridge.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a stream of byte chunks (one per generated token) into text, holding back the bytes of a character whose
 * remaining bytes have not arrived yet. Invalid bytes become U+FFFD. Not thread-safe: one per output stream.
 */
public final class Utf8StreamDecoder {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private byte[] pending = new byte[0];

    /** The complete characters now available; an incomplete character at the end waits for the next call. */
    public String feed(byte[] bytes) {
        byte[] all = pending.length == 0 ? bytes : concat(pending, bytes);
        ByteBuffer in = ByteBuffer.wrap(all);
        CharBuffer out = CharBuffer.allocate(all.length + 1);
        decoder.decode(in, out, false);
        pending = Arrays.copyOfRange(all, in.position(), all.length);
        return out.flip().toString();
    }

    /** Ends the stream: a character left incomplete becomes U+FFFD. */
    public String finish() {
        ByteBuffer in = ByteBuffer.wrap(pending);
        CharBuffer out = CharBuffer.allocate(pending.length + 2);
        decoder.decode(in, out, true);
        decoder.flush(out);
        decoder.reset();
        pending = new byte[0];
        return out.flip().toString();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
