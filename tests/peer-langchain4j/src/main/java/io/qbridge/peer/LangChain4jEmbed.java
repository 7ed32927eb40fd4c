package io.qbridge.peer;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code LangChain4jEmbed FILE}: embeds each non-empty line of FILE (stripped, as {@code qbridge embed} reads it)
 * with langchain4j's {@link AllMiniLmL6V2EmbeddingModel} through its own {@code embedAll}, and prints
 * {@code {"model":…,"dim":…,"embeddings":[[…],…]}} on stdout like {@code qbridge embed --json}, so the two
 * whole commands do the same work: start, load, tokenize, embed, write every number.
 */
public final class LangChain4jEmbed {
    private LangChain4jEmbed() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: LangChain4jEmbed FILE");
            System.exit(2);
        }
        List<TextSegment> segments = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
            if (!line.isBlank()) segments.add(TextSegment.from(line.strip()));
        }
        long t0 = System.nanoTime();
        EmbeddingModel model = new AllMiniLmL6V2EmbeddingModel();
        long t1 = System.nanoTime();
        List<Embedding> out = model.embedAll(segments).content();
        long t2 = System.nanoTime();
        BufferedWriter w = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        w.write("{\"model\":\"langchain4j-all-minilm-l6-v2\",\"dim\":" + out.get(0).dimension() + ",\"embeddings\":[");
        for (int i = 0; i < out.size(); i++) {
            if (i > 0) w.write(',');
            w.write('[');
            float[] v = out.get(i).vector();
            for (int j = 0; j < v.length; j++) {
                if (j > 0) w.write(',');
                w.write(Float.toString(v[j]));
            }
            w.write(']');
        }
        w.write("]}\n");
        w.flush();
        System.err.printf("langchain4j: loaded in %.3f s, embedded %d sentences in %.3f s (%.1f sentences/s)%n",
                (t1 - t0) / 1e9, out.size(), (t2 - t1) / 1e9, out.size() / ((t2 - t1) / 1e9));
    }
}
