package io.qbridge.cli;

import io.qbridge.model.llama.HfCheckpoint;
import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.tokenizer.BpeTokenizer;
import io.qbridge.tokenizer.Llama2cTokenizer;
import io.qbridge.tokenizer.TextTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds and loads a LLaMA-family checkpoint and its tokenizer: a llama2.c {@code .bin} or a Hugging Face directory. */
final class DecoderCheckpoints {
    private DecoderCheckpoints() {}

    static LlamaWeights load(Path model) throws IOException {
        if (Files.isDirectory(model)) return HfCheckpoint.load(model);
        if (Files.isRegularFile(model)) return Llama2cCheckpoint.load(model);
        throw new Main.UserException(model + ": no such checkpoint (expected a llama2.c .bin file or a Hugging Face directory)");
    }

    /** The tokenizer given, or the conventional one: tokenizer.json in an HF directory, tokenizer.bin beside a .bin. */
    static TextTokenizer tokenizer(Path model, Path given, int vocabSize) throws IOException {
        Path tok = given;
        if (tok == null) {
            tok = Files.isDirectory(model) ? model.resolve("tokenizer.json") : model.resolveSibling("tokenizer.bin");
            if (!Files.isRegularFile(tok)) throw new Main.UserException("no tokenizer given and none found at " + tok + " (use --tokenizer)");
        }
        if (!Files.isRegularFile(tok)) throw new Main.UserException(tok + ": no such tokenizer file");
        if (tok.getFileName().toString().endsWith(".json")) {
            try (InputStream in = Files.newInputStream(tok)) {
                return BpeTokenizer.fromJson(in, tok.toString());
            }
        }
        return Llama2cTokenizer.load(tok, vocabSize);
    }
}
