package io.qbridge.model.gguf;

import java.io.IOException;

/** A GGUF file that cannot be read: the message names the file and what is wrong, on one line. */
public final class GgufException extends IOException {
    public GgufException(String message) {
        super(oneLine(message));
    }

    public GgufException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** Names and values from the file may hold any character: control characters are escaped to keep one line. */
    private static String oneLine(String message) {
        StringBuilder b = new StringBuilder(message.length());
        message.codePoints().forEach(c -> {
            if (Character.isISOControl(c) || c == 0x2028 || c == 0x2029 || c == 0x85) b.append(String.format("\\u%04x", c));
            else b.appendCodePoint(c);
        });
        return b.toString();
    }

    /** A name or value from the file, shortened for a message. */
    public static String shown(Object value) {
        String s = String.valueOf(value);
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
