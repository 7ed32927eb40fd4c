package io.qbridge.model.gguf;

import java.io.IOException;

/** A GGUF file that cannot be read: the message names the file and what is wrong, on one line. */
public final class GgufException extends IOException {
    public GgufException(String message) {
        super(message);
    }

    public GgufException(String message, Throwable cause) {
        super(message, cause);
    }
}
