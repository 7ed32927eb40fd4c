package io.qbridge.model.llama;

import java.io.IOException;

/** A checkpoint file or directory that cannot be loaded: the message names the file and what is wrong. */
public final class CheckpointException extends IOException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
