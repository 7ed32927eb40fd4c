package io.qbridge.cli;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.Pooling;
import io.qbridge.pipeline.FileBase;
import io.qbridge.pipeline.PreparedEncoder;
import io.qbridge.pipeline.QuantizedEncoders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --model} (with {@code --pooling} and {@code --base}): the encoder a local command computes with. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
            description = "bge-small (default), minilm, a .qbz container from 'qbridge quantize', or a BERT .onnx file with tokenizer.json beside it.")
    String model;

    @Option(names = "--pooling", paramLabel = "CLS|MEAN", description = "Pooling for an .onnx file given by path (default MEAN); built-in models use their own.")
    Pooling pooling;

    @Option(names = "--base", paramLabel = "FILE.onnx",
            description = "For a .qbz quantized from an .onnx file rather than a built-in: that base file, its tokenizer.json beside it (their sha256s must be the ones the .qbz pins).")
    Path base;

    /**
     * How a command finds the file base of a .qbz: the {@code --base} file and the tokenizer.json beside it
     * (QuantizedEncoders checks both digests), or none when {@code --base} is not given.
     */
    static QuantizedEncoders.BaseLookup baseLookup(Path base) {
        if (base == null) return QuantizedEncoders.BaseLookup.NONE;
        return m -> FileBase.read(base, base.resolveSibling("tokenizer.json"));
    }

    boolean isContainer() {
        return model.endsWith(".qbz");
    }

    /** What {@code --model} names, for {@link PreparedEncoder#prepare} and {@link PreparedEncoder#hostModel}; an FP32 model is loaded here. */
    PreparedEncoder.Source source() throws IOException {
        if (base != null && !isContainer()) throw new Main.UserException("--base: only with a .qbz --model (the base its layers plug into)");
        if (isContainer()) {
            Path file = Path.of(model);
            if (!Files.isRegularFile(file)) throw new Main.UserException(model + ": no such file");
            return new PreparedEncoder.Source.Container(file, baseLookup(base));
        }
        long t0 = System.nanoTime();
        EncoderModel m = EncoderModel.load(model, pooling);
        Log.info("loaded %s (%d layers, hidden %d, %.1fM parameters) in %.1f s", m.name(), m.encoder().config().layers(),
                m.encoder().config().hidden(), m.encoder().config().parameterCount() / 1e6, (System.nanoTime() - t0) / 1e9);
        return new PreparedEncoder.Source.Fp32(m.name(), m);
    }

    /** The model on the host path: FP32, or a .qbz's packed weights dequantized exactly. */
    EncoderModel load() throws IOException {
        PreparedEncoder.Source source = source();
        if (source instanceof PreparedEncoder.Source.Fp32 fp32) return fp32.model();
        long t0 = System.nanoTime();
        PreparedEncoder q = PreparedEncoder.prepare(source, null, null);
        Log.info("loaded %s: %s on %s, %d packed layers, dequantized exactly for the FP32 host path, in %.1f s", model,
                q.format(), q.name(), q.layers().size(), (System.nanoTime() - t0) / 1e9);
        return q.hostModel();
    }
}
