package io.qbridge.cli;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.Pooling;
import picocli.CommandLine.Option;

/** The options that name an encoder model, shared by the commands that embed text. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
            description = "bge-small (default), minilm, or a path to a BERT .onnx file with tokenizer.json beside it.")
    String model;

    @Option(names = "--pooling", paramLabel = "CLS|MEAN", description = "Pooling for an .onnx file given by path (default MEAN); built-in models use their own.")
    Pooling pooling;

    EncoderModel load() {
        long t0 = System.nanoTime();
        EncoderModel m = EncoderModel.load(model, pooling);
        Log.info("loaded %s (%d layers, hidden %d, %.1fM parameters) in %.1f s", m.name(), m.encoder().config().layers(),
                m.encoder().config().hidden(), m.encoder().config().parameterCount() / 1e6, (System.nanoTime() - t0) / 1e9);
        return m;
    }
}
