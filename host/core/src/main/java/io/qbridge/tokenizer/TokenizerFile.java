package io.qbridge.tokenizer;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;

/**
 * A decoder tokenizer as file bytes: {@code tokenizer.bin} (llama2.c's format, {@link Llama2cTokenizer}) or
 * {@code tokenizer.json} (Hugging Face's, {@link BpeTokenizer}). A decoder {@code .qbz} carries one under that
 * name, so a tokenizer read from any source (a file beside the checkpoint, or a GGUF file's {@code tokenizer.ggml.*}
 * tables written out in one of the two formats) is parsed again by the same code when the container is loaded.
 *
 * @param name  {@code tokenizer.bin} or {@code tokenizer.json}: which parser reads {@code bytes}
 * @param bytes the file's bytes
 */
public record TokenizerFile(String name, byte[] bytes) {
    public static final String LLAMA2C = "tokenizer.bin", HF_JSON = "tokenizer.json";

    public TokenizerFile {
        if (!name.equals(LLAMA2C) && !name.equals(HF_JSON)) throw new IllegalArgumentException("a tokenizer file is " + LLAMA2C + " or " + HF_JSON + ", not " + name);
    }

    /** The tokenizer these bytes hold, for a model of {@code vocabSize} rows; {@code sourceName} names them in errors. */
    public TextTokenizer parse(int vocabSize, String sourceName) {
        if (name.equals(HF_JSON)) return BpeTokenizer.fromJson(new ByteArrayInputStream(bytes), sourceName);
        return Llama2cTokenizer.parse(ByteBuffer.wrap(bytes), vocabSize, sourceName);
    }
}
