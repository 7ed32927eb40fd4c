package io.qbridge.tokenizer;

/**
 * One entry of a {@code tokenizer.json}'s {@code added_tokens}: a piece of text that is matched literally in the
 * input before any normalization or model runs, and always becomes the single id {@code id}.
 *
 * @param lstrip     the match swallows whitespace to its left
 * @param rstrip     the match swallows whitespace to its right
 * @param singleWord the match counts only when not glued to letters or digits on either side
 * @param special    a control token ({@code <s>}, {@code [CLS]}...): skipped when decoding
 */
public record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip, boolean singleWord) {
    public AddedToken {
        if (content == null || content.isEmpty()) {
            throw new IllegalArgumentException("added token " + id + " has empty content");
        }
    }
}
