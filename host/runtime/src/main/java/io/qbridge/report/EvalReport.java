package io.qbridge.report;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.pipeline.EncoderEvaluator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The eval table as JSON: {@code qbridge eval --json} prints it and a remote eval job stores it as its
 * artifact. Only the quality figures are in it, not the quantization time, so the same model, formats and
 * set sizes give the same bytes on every run (the time is in the text table and the job's result).
 * Where the table prints "-" (fp32's weight SQNR and layer-output error) the JSON has null.
 */
public final class EvalReport {
    private EvalReport() {}

    public static byte[] json(String model, EncoderEvaluator.Sets sets, List<EncoderEvaluator.Row> rows) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("model", model);
            g.writeNumberField("calibration", sets.calibration());
            g.writeNumberField("heldOut", sets.heldOut());
            g.writeNumberField("retrieval", sets.retrieval());
            g.writeArrayFieldStart("formats");
            for (EncoderEvaluator.Row r : rows) {
                boolean fp32 = r.recipe().equals("fp32");
                g.writeStartObject();
                g.writeStringField("format", r.recipe());
                g.writeNumberField("bitsPerWeight", r.bitsPerWeight());
                g.writeNumberField("packedBytes", r.packedBytes());
                number(g, "weightSqnrDb", r.weightSqnrDb());
                number(g, "layerOutputError", fp32 ? Double.NaN : r.layerOutputError());
                number(g, "meanCosine", r.meanCosine());
                number(g, "recallAt10", r.recallAt10());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in memory: cannot happen
        }
        out.write('\n');
        return out.toByteArray();
    }

    private static void number(JsonGenerator g, String field, double v) throws IOException {
        if (Double.isFinite(v)) g.writeNumberField(field, v);
        else g.writeNullField(field);
    }
}
