package io.qbridge.cli;

import io.qbridge.model.gguf.GgufFile;
import io.qbridge.model.gguf.GgufTokenizer;
import io.qbridge.model.llama.GgufCheckpoint;
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
import java.util.List;
import io.qbridge.data.EvalCorpus;
import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;

/**
 * Finds and loads a LLaMA-family checkpoint and its tokenizer (a llama2.c {@code .bin}, a llama.cpp {@code .gguf}
 * with its own tokenizer, or a Hugging Face directory), and the calibration sequences and block quantization that {@code eval} and {@code generate} share.
 */
final class DecoderCheckpoints {
    private DecoderCheckpoints() {}

    /**
     * Calibration ids for a decoder: the lines of {@code file} when given, else the project's Europarl calibration
     * sentences; each tokenized with BOS, cut to the model's context, the first {@code sequences}.
     */
    static List<int[]> calibration(Path file, int sequences, TextTokenizer tok, LlamaWeights w) throws IOException {
        if (sequences < 1) throw new Main.UserException("--calib-sequences must be >= 1");
        try {
            if (file != null) return DecoderQuantizer.calibrationIds(tok, EvalCorpus.readLines(file), sequences, w.config().seqLen());
            return DecoderQuantizer.calibrationIds(tok, sequences, w.config().seqLen());
        } catch (IllegalArgumentException e) {
            throw new Main.UserException((file != null ? file + ": " : "calibration: ") + e.getMessage());
        }
    }

    /** Quantizes the block linears of {@code w} with {@code recipe}, a progress line per block. */
    static DecoderQuantizer.Result quantize(LlamaWeights w, QuantRecipe recipe, List<int[]> calibration) {
        int blocks = w.config().nLayers();
        try (Progress p = Progress.start(recipe.name() + (recipe.needsCalibration() ? " (GPTQ, " + calibration.size() + " sequences)" : ""), blocks)) {
            int[] last = {0};
            return DecoderQuantizer.quantize(w, recipe, calibration, done -> {
                p.step(done - last[0]);
                last[0] = done;
            });
        }
    }

    static LlamaWeights load(Path model) throws IOException {
        if (Files.isDirectory(model)) return HfCheckpoint.load(model);
        if (isGguf(model)) return GgufCheckpoint.load(model);
        if (Files.isRegularFile(model)) return Llama2cCheckpoint.load(model);
        throw new Main.UserException(model + ": no such checkpoint (expected a llama2.c .bin file, a GGUF file or a Hugging Face directory)");
    }

    /** The tokenizer given, or the conventional one: tokenizer.json in an HF directory, tokenizer.bin beside a .bin. */
    static TextTokenizer tokenizer(Path model, Path given, int vocabSize) throws IOException {
        Path tok = given;
        if (tok == null && isGguf(model)) {
            try (GgufFile f = GgufFile.open(model)) {
                return GgufTokenizer.load(f, vocabSize); // the GGUF's own tokenizer.ggml.*
            }
        }
        if (tok == null) {
            tok = Files.isDirectory(model) ? model.resolve("tokenizer.json") : model.resolveSibling("tokenizer.bin");
            if (!Files.isRegularFile(tok)) throw new Main.UserException("no tokenizer given and none found at " + tok + " (use --tokenizer)");
        }
        if (!Files.isRegularFile(tok)) throw new Main.UserException(tok + ": no such tokenizer file");
        if (tok.getFileName().toString().endsWith(".json")) {
            BpeTokenizer bpe;
            try (InputStream in = Files.newInputStream(tok)) {
                bpe = BpeTokenizer.fromJson(in, tok.toString());
            }
            // a checkpoint may pad its embedding beyond the tokenizer's ids, never the other way round
            if (bpe.vocabSize() > vocabSize) throw new Main.UserException(misfit(tok, bpe.vocabSize(), model, vocabSize));
            return bpe;
        }
        int pieces = Llama2cTokenizer.pieceCount(java.nio.ByteBuffer.wrap(Files.readAllBytes(tok)));
        // llama2.c reads as many pieces as the checkpoint says: another tokenizer's first pieces would print garbage
        if (pieces >= 0 && pieces != vocabSize) throw new Main.UserException(misfit(tok, pieces, model, vocabSize));
        return Llama2cTokenizer.load(tok, vocabSize);
    }

    /** A llama.cpp GGUF checkpoint, told by its extension. */
    static boolean isGguf(Path model) {
        return Files.isRegularFile(model) && model.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gguf");
    }

    /** The one line for a tokenizer that is not the checkpoint's. */
    static String misfit(Path tok, int tokenizerSize, Path model, int vocabSize) {
        return tok + " holds " + tokenizerSize + " pieces but " + model + " has a vocabulary of " + vocabSize
                + ": the tokenizer does not belong to this checkpoint (give its own with --tokenizer)";
    }
}
