package io.qbridge.tokenizer;

/**
 * The tokenizer of a text-generating (LLaMA-family) model, as the decoder loop uses it: prompt to ids, and each
 * generated id back to bytes. Closed over the two checkpoint formats the runtime reads.
 *
 * <p>Decoding works on bytes because one token can hold part of a UTF-8 character (byte-fallback pieces such as
 * {@code <0xE6>}, or byte-level BPE); feed {@link #decodeBytes} into a {@link Utf8StreamDecoder} to print while
 * generating without ever cutting a character.
 */
public sealed interface TextTokenizer permits Llama2cTokenizer, BpeTokenizer {
    /** The ids of {@code text}, with the model's begin-of-sequence id first if {@code addBos}, end id last if {@code addEos}. */
    int[] encode(String text, boolean addBos, boolean addEos);

    /** The text of a whole id sequence; begin/end-of-sequence and other control tokens produce no text. */
    String decode(int[] ids);

    /**
     * The bytes that {@code token} adds to the output when it follows {@code prevToken} (which matters: the
     * first piece after BOS loses its leading space). Control tokens give no bytes.
     */
    byte[] decodeBytes(int prevToken, int token);

    int vocabSize();

    int bosId();

    int eosId();
}
