package io.qbridge.client;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintStream;

/**
 * {@code {"model":…, "dim":…, "embeddings":[[…],…]}} followed by a newline: the document {@code qbridge
 * embed --json} prints, written the same way (Jackson's float output), so a remote run and a local embed
 * of the same text print the same bytes.
 */
final class EmbeddingJson {
    private EmbeddingJson() {}

    static void write(PrintStream out, String model, float[][] emb) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            g.writeStartObject();
            g.writeStringField("model", model);
            g.writeNumberField("dim", emb.length == 0 ? 0 : emb[0].length);
            g.writeArrayFieldStart("embeddings");
            for (float[] e : emb) {
                g.writeStartArray();
                for (float v : e) g.writeNumber(v);
                g.writeEndArray();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        out.println();
        out.flush();
    }
}
