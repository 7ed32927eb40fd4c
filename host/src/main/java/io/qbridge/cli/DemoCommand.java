package io.qbridge.cli;

import io.qbridge.compute.VectorOps;
import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code qbridge demo}: the README's main command. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Embed a handful of sentences with a real pretrained encoder, print their similarity table and the timing.")
final class DemoCommand implements Callable<Integer> {
    static final List<String> SENTENCES = List.of(
            "The cat sits on the mat.",
            "A kitten is resting on the rug.",
            "Stock markets fell sharply after the announcement.",
            "Shares dropped when the news came out.",
            "The accelerator multiplies low-bit weights with 8-bit activations.",
            "FPGA kernels compute integer dot products for quantized models.");

    @Mixin ModelOptions modelOptions;

    @Override
    public Integer call() throws java.io.IOException {
        EncoderModel model = modelOptions.load();
        float[][] emb = model.embedIds(model.tokenize(SENTENCES, null), EncoderModel.DEFAULT_BATCH_TOKENS);
        System.out.printf("%nModel %s, FP32 on the host: cosine similarity of sentence embeddings%n%n", model.name());
        printSimilarity(SENTENCES, emb);

        List<String> bench = EvalCorpus.split(EvalCorpus.Split.BENCH);
        List<int[]> ids = model.tokenize(bench, null);
        int tokens = ids.stream().mapToInt(a -> a.length).sum();
        model.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS); // warm-up: JIT and caches
        long t0 = System.nanoTime();
        model.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%nThroughput: %d Europarl sentences (%d tokens) in %.3f s: %.1f sentences/s, %.0f tokens/s (%d threads)%n",
                bench.size(), tokens, secs, bench.size() / secs, tokens / secs, io.qbridge.compute.Parallel.threads());
        return 0;
    }

    static void printSimilarity(List<String> sentences, float[][] emb) {
        for (int i = 0; i < sentences.size(); i++) System.out.printf("  S%d  %s%n", i + 1, sentences.get(i));
        System.out.println();
        System.out.print("      ");
        for (int j = 0; j < emb.length; j++) System.out.printf("   S%-3d", j + 1);
        System.out.println();
        for (int i = 0; i < emb.length; i++) {
            System.out.printf("  S%-3d", i + 1);
            for (float[] other : emb) System.out.printf("  %.3f", VectorOps.dot(emb[i], 0, other, 0, emb[i].length));
            System.out.println();
        }
    }
}
