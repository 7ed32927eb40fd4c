package io.qbridge.tokenizer;

/**
 * A tokenizer file that cannot be used: malformed, truncated, or configuring something this package does not
 * implement. The message always names the file (as the caller named it) and the problem, so it can be shown to
 * a user as is.
 */
public final class TokenizerFormatException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public TokenizerFormatException(String sourceName, String problem) {
        super(sourceName + ": " + problem);
    }

    public TokenizerFormatException(String sourceName, String problem, Throwable cause) {
        super(sourceName + ": " + problem, cause);
    }
}
