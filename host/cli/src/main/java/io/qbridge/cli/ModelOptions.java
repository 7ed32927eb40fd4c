package io.qbridge.cli;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.Pooling;
import io.qbridge.pipeline.FileBase;
import io.qbridge.pipeline.QuantizedEncoders;
import picocli.CommandLine.Option;

/** The options that name an encoder model, shared by the commands that embed text. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
            description = "bge-small (default), minilm, a .qbz container from 'qbridge quantize', or a BERT .onnx file with tokenizer.json beside it.")
    String model;

    @Option(names = "--pooling", paramLabel = "CLS|MEAN", description = "Pooling for an .onnx file given by path (default MEAN); built-in models use their own.")
    Pooling pooling;

    @Option(names = "--base", paramLabel = "FILE.onnx",
            description = "For a .qbz quantized from an .onnx file rather than a built-in: that base file, its tokenizer.json beside it (their sha256s must be the ones the .qbz pins).")
    java.nio.file.Path base;

    /**
     * How a command finds the file base of a .qbz: the {@code --base} file and the tokenizer.json beside it
     * (QuantizedEncoders checks both digests), or none when {@code --base} is not given.
     */
    static QuantizedEncoders.BaseLookup baseLookup(java.nio.file.Path base) {
        if (base == null) return QuantizedEncoders.BaseLookup.NONE;
        return m -> FileBase.read(base, base.resolveSibling("tokenizer.json"));
    }

    EncoderModel load() throws java.io.IOException {
        long t0 = System.nanoTime();
        if (base != null && !model.endsWith(".qbz")) throw new Main.UserException("--base: only with a .qbz --model (the base its layers plug into)");
        if (model.endsWith(".qbz")) {
            QuantizedEncoders.Loaded q = QuantizedEncoders.load(java.nio.file.Path.of(model), baseLookup(base));
            Log.info("loaded %s: %s (%s) on %s, %d packed layers, dequantized exactly for the FP32 host path, in %.1f s", model,
                    q.manifest().format(), q.manifest().settings().getOrDefault("algorithm", "?"), q.manifest().model(), q.layers().size(),
                    (System.nanoTime() - t0) / 1e9);
            return q.model();
        }
        EncoderModel m = EncoderModel.load(model, pooling);
        Log.info("loaded %s (%d layers, hidden %d, %.1fM parameters) in %.1f s", m.name(), m.encoder().config().layers(),
                m.encoder().config().hidden(), m.encoder().config().parameterCount() / 1e6, (System.nanoTime() - t0) / 1e9);
        return m;
    }
}
