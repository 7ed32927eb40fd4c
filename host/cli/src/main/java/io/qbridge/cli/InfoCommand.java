package io.qbridge.cli;

import io.qbridge.model.Linear;
import io.qbridge.model.bert.BertConfig;
import io.qbridge.model.bert.EncoderModel;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qbridge info MODEL}: architecture, parameter count and the tensors a model holds. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a model's architecture, parameter count and linear-layer tensors, or a .qbz container's manifest.")
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL",
            description = "bge-small, minilm, a BERT .onnx file, a llama2.c .bin checkpoint, a .gguf file, a Hugging Face directory or a .qbz container.")
    String model;

    @Option(names = "--json", description = "For a .qbz container: print its manifest as JSON.")
    boolean json;

    @Override
    public Integer call() throws java.io.IOException {
        if (QbzInfo.isContainer(java.nio.file.Path.of(model))) return QbzInfo.print(java.nio.file.Path.of(model), json);
        if (json) throw new Main.UserException("--json is for .qbz containers; " + model + " is not one");
        if (EncoderModel.isEncoderRef(model)) {
            EncoderModel m = EncoderModel.load(model, null);
            BertConfig c = m.encoder().config();
            System.out.printf("model        %s%n", m.name());
            System.out.printf("architecture BERT encoder, %s pooling, L2-normalised%n", m.pooling());
            System.out.printf("layers %d, hidden %d, heads %d (head size %d), intermediate %d, positions %d, vocab %d, LayerNorm eps %.0e%n",
                    c.layers(), c.hidden(), c.heads(), c.headSize(), c.intermediate(), c.maxPositions(), c.vocabSize(), c.layerNormEps());
            System.out.printf("parameters   %,d%n%n", c.parameterCount());
            printLinears(m.encoder().linears());
            return 0;
        }
        if (!java.nio.file.Files.exists(java.nio.file.Path.of(model))) {
            throw new Main.UserException(model + ": no such model (not bge-small or minilm, and no such .onnx file, llama2.c .bin or Hugging Face directory)");
        }
        return LlamaInfo.print(model);
    }

    static void printLinears(java.util.List<Linear> linears) {
        System.out.printf("%-48s %12s  %s%n", "linear layer", "shape [N,K]", "bias");
        for (Linear l : linears) {
            System.out.printf("%-48s %12s  %s%n", l.name(), l.outFeatures() + "x" + l.inFeatures(), l.bias() == null ? "-" : "yes");
        }
    }
}
