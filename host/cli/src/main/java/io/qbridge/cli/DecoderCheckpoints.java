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
import io.qbridge.tokenizer.TokenizerFile;
import io.qbridge.device.Accelerator;
import io.qbridge.pipeline.QuantizedLayer;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.RunStats;
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

    /** Quantizes the block linears of {@code w} with {@code recipe}, a progress step per block and a line per Hessian capture. */
    static DecoderQuantizer.Result quantize(LlamaWeights w, QuantRecipe recipe, List<int[]> calibration) {
        int blocks = w.config().nLayers();
        try (Progress p = Progress.start(recipe.name() + (recipe.needsCalibration() ? " (GPTQ, " + calibration.size() + " sequences)" : ""), blocks)) {
            int[] last = {0};
            return DecoderQuantizer.quantize(w, recipe, calibration, done -> {
                p.step(done - last[0]);
                last[0] = done;
            }, recipe.needsCalibration() ? p::note : null); // RTN runs calibration only to measure errors: no Hessians to announce
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
        return tokenizerWithFile(model, given, vocabSize).parsed();
    }

    /** A checkpoint's tokenizer as the file a decoder .qbz carries, and parsed. */
    record Tokenizer(TokenizerFile file, TextTokenizer parsed) {}

    /**
     * As {@link #tokenizer}, with the file's bytes: those of the file given or found, or for a .gguf without
     * {@code --tokenizer} its {@code tokenizer.ggml.*} tables written out as the tokenizer file they become.
     */
    static Tokenizer tokenizerWithFile(Path model, Path given, int vocabSize) throws IOException {
        Path tok = given;
        if (tok == null && isGguf(model)) {
            try (GgufFile f = GgufFile.open(model)) {
                return new Tokenizer(GgufTokenizer.file(f, vocabSize), GgufTokenizer.load(f, vocabSize)); // the GGUF's own tokenizer.ggml.*
            }
        }
        if (tok == null) {
            tok = Files.isDirectory(model) ? model.resolve("tokenizer.json") : model.resolveSibling("tokenizer.bin");
            if (!Files.isRegularFile(tok)) throw new Main.UserException("no tokenizer given and none found at " + tok + " (use --tokenizer)");
        }
        if (!Files.isRegularFile(tok)) throw new Main.UserException(tok + ": no such tokenizer file");
        byte[] bytes = Files.readAllBytes(tok);
        if (tok.getFileName().toString().endsWith(".json")) {
            BpeTokenizer bpe;
            try (InputStream in = new java.io.ByteArrayInputStream(bytes)) {
                bpe = BpeTokenizer.fromJson(in, tok.toString());
            }
            // a checkpoint may pad its embedding beyond the tokenizer's ids, never the other way round
            if (bpe.vocabSize() > vocabSize) throw new Main.UserException(misfit(tok, bpe.vocabSize(), model, vocabSize));
            return new Tokenizer(new TokenizerFile(TokenizerFile.HF_JSON, bytes), bpe);
        }
        int pieces = Llama2cTokenizer.pieceCount(java.nio.ByteBuffer.wrap(bytes));
        // llama2.c reads as many pieces as the checkpoint says: another tokenizer's first pieces would print garbage
        if (pieces >= 0 && pieces != vocabSize) throw new Main.UserException(misfit(tok, pieces, model, vocabSize));
        return new Tokenizer(new TokenizerFile(TokenizerFile.LLAMA2C, bytes), Llama2cTokenizer.parse(java.nio.ByteBuffer.wrap(bytes), vocabSize, tok.toString()));
    }

    /** The decoder with its block layers (and, if given, its classifier) resident on {@code dev}: {@link AcceleratorModels#decoderOnDevice}. */
    static LlamaWeights onDevice(LlamaWeights w, java.util.Map<String, QuantizedLayer> blocks, QuantizedLayer classifier, Accelerator dev, RunStats stats) {
        return AcceleratorModels.decoderOnDevice(w, blocks, classifier, dev, stats);
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
