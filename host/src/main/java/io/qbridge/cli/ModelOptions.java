package io.qbridge.cli;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.Pooling;
import io.qbridge.pipeline.QuantizedEncoders;
import picocli.CommandLine.Option;

/** The options that name an encoder model, shared by the commands that embed text. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
            description = "bge-small (default), minilm, a .qbz container from 'qbridge quantize', or a BERT .onnx file with tokenizer.json beside it.")
    String model;

    @Option(names = "--pooling", paramLabel = "CLS|MEAN", description = "Pooling for an .onnx file given by path (default MEAN); built-in models use their own.")
    Pooling pooling;

    EncoderModel load() throws java.io.IOException {
        long t0 = System.nanoTime();
        if (model.endsWith(".qbz")) {
            QuantizedEncoders.Loaded q = QuantizedEncoders.load(java.nio.file.Path.of(model));
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
