/**
 * Text to token ids and back, for every model the runtime runs, with no native code.
 *
 * <ul>
 *   <li>{@link io.qbridge.tokenizer.BertTokenizer}: WordPiece for the BERT-style encoders ({@code bge-small},
 *       {@code MiniLM}), configured by their Hugging Face {@code tokenizer.json}.
 *   <li>{@link io.qbridge.tokenizer.TextTokenizer}: what the LLaMA-family decoder needs, implemented by
 *       {@link io.qbridge.tokenizer.Llama2cTokenizer} (llama2.c's {@code tokenizer.bin}, bit-for-bit the
 *       algorithm of its {@code run.c}) and {@link io.qbridge.tokenizer.BpeTokenizer} (Hugging Face
 *       {@code tokenizer.json} BPE, sentencepiece-style and byte-level).
 * </ul>
 *
 * <p>Every loader fails with a {@link io.qbridge.tokenizer.TokenizerFormatException} naming the file and what is
 * wrong with it. Tokenizers are immutable once built and safe to share between threads.
 */
package io.qbridge.tokenizer;
