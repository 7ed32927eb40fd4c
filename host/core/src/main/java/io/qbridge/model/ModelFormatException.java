package io.qbridge.model;

/**
 * A model file (checkpoint, ONNX graph, tokenizer, packed container) that cannot be used as it is. The
 * message names the file and the problem in one line, as the CLI prints it.
 */
public class ModelFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(String source, String problem) {
        super(source + ": " + problem);
    }

    public ModelFormatException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
    }
}
