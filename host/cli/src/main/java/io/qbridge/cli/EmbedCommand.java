package io.qbridge.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.bert.EncoderWarmUp;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qbridge embed}: sentence embeddings for each non-empty line of a text file. */
@Command(name = "embed", mixinStandardHelpOptions = true, description = "Embed each non-empty line of a text file with an encoder model.")
final class EmbedCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 text, one sentence a line.")
    Path text;

    @Option(names = "--json", description = "Print {\"model\":…, \"dim\":…, \"embeddings\":[[…],…]} on stdout.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        EvalCorpus.TextLines numbered = EvalCorpus.readText(text);
        List<String> lines = numbered.lines();
        EncoderModel model;
        try (EncoderWarmUp warm = EncoderWarmUp.start()) { // JIT warm-up on the spare core while the model loads
            model = modelOptions.load();
        }
        List<int[]> ids = model.tokenize(lines, i -> Log.info("warning: %s line %d is longer than %d tokens and was truncated", text, numbered.lineOf(i),
                model.encoder().config().maxPositions()));
        long t0 = System.nanoTime();
        float[][] emb;
        try (Progress p = Progress.start("embed", ids.size())) {
            emb = model.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS, p::step);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (json) {
            writeJson(model.name(), emb);
        } else {
            System.out.printf("%d sentences, %d dimensions, model %s%n", emb.length, emb[0].length, model.name());
            printPreview(lines, emb);
        }
        Log.info("embedded %d sentences in %.3f s (%.1f sentences/s)", emb.length, secs, emb.length / secs);
        return 0;
    }

    /** The first few vectors beside their sentences, for a human reading the terminal. */
    static void printPreview(List<String> lines, float[][] emb) {
        for (int i = 0; i < Math.min(5, emb.length); i++) {
            System.out.printf("%3d  [%+.4f %+.4f %+.4f %+.4f …]  %s%n", i + 1, emb[i][0], emb[i][1], emb[i][2], emb[i][3], Text.clip(lines.get(i), 60));
        }
        if (emb.length > 5) System.out.printf("… %d more%n", emb.length - 5);
    }

    /** Fields a command adds after the embeddings (device, timing, energy). */
    @FunctionalInterface
    interface JsonExtra {
        void write(JsonGenerator g) throws IOException;
    }

    static void writeJson(String model, float[][] emb) throws IOException {
        writeJson(model, null, emb, g -> {});
    }

    /** {@code {"model":…, ["format":…,] "dim":…, "embeddings":[[…],…], …extra}} and a newline on stdout. */
    static void writeJson(String model, String format, float[][] emb, JsonExtra extra) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(System.out, JsonEncoding.UTF8)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            g.writeStartObject();
            g.writeStringField("model", model);
            if (format != null) g.writeStringField("format", format);
            g.writeNumberField("dim", emb.length == 0 ? 0 : emb[0].length);
            g.writeArrayFieldStart("embeddings");
            for (float[] e : emb) {
                g.writeStartArray();
                for (float v : e) g.writeNumber(v);
                g.writeEndArray();
            }
            g.writeEndArray();
            extra.write(g);
            g.writeEndObject();
        }
        System.out.println();
        System.out.flush();
    }
}
