package io.qbridge.cli;

import io.qbridge.model.Linear;
import io.qbridge.model.llama.LlamaConfig;
import io.qbridge.model.llama.LlamaWeights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code qbridge info} for decoder checkpoints. */
final class LlamaInfo {
    private LlamaInfo() {}

    static int print(String ref) throws java.io.IOException {
        Path p = Path.of(ref);
        LlamaWeights w = DecoderCheckpoints.load(p);
        LlamaConfig c = w.config();
        System.out.printf("model        %s%n", p);
        System.out.printf("architecture LLaMA decoder (RMSNorm, RoPE theta %.0f, %s attention, SwiGLU), %s classifier%n", c.ropeTheta(),
                c.nKvHeads() == c.nHeads() ? "multi-head" : "grouped-query", c.sharedClassifier() ? "shared" : "separate");
        System.out.printf("layers %d, dim %d, hidden %d, heads %d, kv heads %d, vocab %d, sequence %d, norm eps %.0e%n", c.nLayers(), c.dim(),
                c.hiddenDim(), c.nHeads(), c.nKvHeads(), c.vocabSize(), c.seqLen(), c.normEps());
        System.out.printf("parameters   %,d%n%n", c.parameterCount());
        List<Linear> all = new ArrayList<>();
        for (LlamaWeights.Layer l : w.layers()) all.addAll(l.linears());
        all.add(w.classifier());
        InfoCommand.printLinears(all);
        return 0;
    }
}
