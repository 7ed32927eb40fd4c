package io.qbridge.report;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.PerformanceModel.Estimate;
import io.qbridge.device.PerformanceModel.LayerProfile;
import io.qbridge.device.RunResult;
import io.qbridge.format.FineQFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.QuantFormat;
import io.qbridge.runtime.LayerRates.Rates;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code qbridge estimate} prints: the performance model's estimates for one [n][k] layer per format, as a
 * text or Markdown table (the table of {@code docs/performance-model.md} §3) or as JSON with every field of each
 * estimate. The numbers are the estimates' own; the table only rounds them.
 *
 * @param tokens the tokens of each run, in the order of every row's {@code runs}; the energy breakdown is the last's
 */
public record EstimateReport(int n, int k, List<Integer> tokens, PerfConfig config, List<Row> rows) {

    /** One format's profile, the rates it was made with, and its estimates, in {@code tokens} order. */
    public record Row(QuantFormat format, LayerProfile profile, Rates rates, List<Estimate> runs) {}

    /** Where the weight-dependent inputs came from, one sentence (null if no format needs them). */
    private static String provenance(List<Row> rows) {
        Map<String, List<String>> whatBySource = new LinkedHashMap<>();
        for (Row r : rows) {
            Rates x = r.rates();
            if (x.source() == null) continue;
            String from = x.source().equals("given") ? "given on the command line"
                    : String.format(Locale.ROOT, "measured on the %d linear layers of %s quantized with RTN (EncoderQuantizer)", x.layers(), x.source());
            String what = r.format() instanceof MicroScopiQFormat ? "MicroScopiQ outlier rates" : "FineQ pulses per weight";
            List<String> whats = whatBySource.computeIfAbsent(from, f -> new ArrayList<>());
            if (!whats.contains(what)) whats.add(what);
        }
        if (whatBySource.isEmpty()) return null;
        List<String> parts = new ArrayList<>();
        whatBySource.forEach((from, whats) -> parts.add(String.join(" and ", whats) + " " + from));
        return String.join("; ", parts) + ", then applied to the layer as rates.";
    }

    private String header(PerfConfig c) {
        return String.format(Locale.ROOT, "One %d x %d layer, %s: %d x %d PEs at %.0f MHz, %s, %.0f GB/s off-chip.", n, k, c.preset(), c.arrayRows(), c.arrayCols(),
                c.clockMhz(), c.dataflow().name().toLowerCase(Locale.ROOT).replace('_', '-'), c.offChipBytesPerSecond() / 1e9);
    }

    /** The table, aligned in columns for a terminal or as Markdown, with its header, provenance and bound lines. */
    public void printTable(PrintStream out, boolean markdown) {
        PerfConfig c = config;
        out.println(header(c));
        String prov = provenance(rows);
        if (prov != null) out.println(prov);
        out.println();
        int last = tokens.get(tokens.size() - 1);
        List<String> head = new ArrayList<>(List.of("format", "bits/w", "outliers", "pulses/w"));
        for (int m : tokens) {
            head.add("M=" + m + " µs");
            head.add("M=" + m + " µJ");
        }
        head.add("µJ mac/merge/scale/sram/dram (M=" + last + ")");
        List<List<String>> cells = new ArrayList<>();
        for (Row r : rows) cells.add(cells(r));
        if (markdown) {
            out.println("| " + String.join(" | ", head) + " |");
            out.println("|" + "---|".repeat(head.size()));
            for (List<String> row : cells) out.println("| " + String.join(" | ", row) + " |");
        } else {
            int[] w = new int[head.size()];
            for (int i = 0; i < w.length; i++) {
                w[i] = head.get(i).length();
                for (List<String> row : cells) w[i] = Math.max(w[i], row.get(i).length());
            }
            out.println(align(head, w));
            for (List<String> row : cells) out.println(align(row, w));
        }
        List<String> memory = new ArrayList<>();
        for (Row r : rows)
            for (int i = 0; i < tokens.size(); i++)
                if (r.runs().get(i).bound() == RunResult.Bound.MEMORY) memory.add(r.format().id() + " at M=" + tokens.get(i));
        out.println();
        out.println(memory.isEmpty() ? "Every run is compute-bound." : "Memory-bound: " + String.join(", ", memory) + "; every other run is compute-bound.");
        int fewest = tokens.indexOf(tokens.stream().mapToInt(Integer::intValue).min().orElse(0));
        boolean computeBound = rows.stream().allMatch(r -> r.runs().get(fewest).bound() == RunResult.Bound.COMPUTE);
        String rowsNote = computeBound ? fewTokensNote(config, tokens) : null;
        if (rowsNote != null) out.println(rowsNote);
    }

    /** Why a run with fewer tokens than array rows is compute-bound in the model (docs/performance-model.md §3), or null. */
    static String fewTokensNote(PerfConfig c, List<Integer> tokens) {
        int fewest = tokens.stream().mapToInt(Integer::intValue).min().orElse(c.arrayRows());
        if (fewest >= c.arrayRows() || c.dataflow() != PerfConfig.Dataflow.OUTPUT_STATIONARY) return null;
        return String.format(Locale.ROOT, "At M=%d the output-stationary array maps the tokens onto its rows: %d of its %d rows (%.1f %%) work, so a"
                + " decode-like run is compute-bound although it moves few bytes; batching tokens is what fills the array (docs/performance-model.md §3).",
                fewest, fewest, c.arrayRows(), 100.0 * fewest / c.arrayRows());
    }

    /** The table cells of one row; the numbers are the estimate's, only rounded for printing. */
    private static List<String> cells(Row r) {
        LayerProfile p = r.profile();
        List<String> c = new ArrayList<>();
        c.add(r.format().id());
        c.add(String.format(Locale.ROOT, "%.3f", 8.0 * p.packedBytes() / ((double) p.n() * p.k())));
        c.add(r.format() instanceof MicroScopiQFormat ? String.format(Locale.ROOT, "%.2f %%", 100.0 * p.outliers() / ((double) p.n() * p.k())) : "–");
        c.add(r.format() instanceof FineQFormat ? String.format(Locale.ROOT, "%.3f", (double) p.pulses() / ((double) p.n() * p.k())) : "–");
        for (Estimate e : r.runs()) {
            c.add(String.format(Locale.ROOT, "%.1f", e.seconds() * 1e6));
            c.add(String.format(Locale.ROOT, "%.1f", e.energyJoules() * 1e6));
        }
        Estimate e = r.runs().get(r.runs().size() - 1);
        c.add(String.format(Locale.ROOT, "%.0f/%.0f/%.0f/%.0f/%.0f", e.macJoules() * 1e6, e.auxJoules() * 1e6, e.scaleJoules() * 1e6, e.sramJoules() * 1e6,
                e.dramJoules() * 1e6));
        return c;
    }

    private static String align(List<String> row, int[] w) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < row.size(); i++) {
            if (i > 0) b.append("  ");
            String s = row.get(i);
            String pad = " ".repeat(w[i] - s.length());
            b.append(i == 0 ? s + pad : pad + s); // names left, numbers right
        }
        return b.toString().stripTrailing();
    }

    /** Every estimate with all its fields (cycles, bound, bytes, energy parts) as pretty-printed JSON and a newline; {@code out} stays open. */
    public void writeJson(PrintStream out) throws IOException {
        PerfConfig c = config;
        try (JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeNumberField("n", n);
            g.writeNumberField("k", k);
            g.writeObjectFieldStart("perf");
            g.writeStringField("preset", c.preset());
            g.writeNumberField("arrayRows", c.arrayRows());
            g.writeNumberField("arrayCols", c.arrayCols());
            g.writeNumberField("clockMhz", c.clockMhz());
            g.writeStringField("dataflow", c.dataflow().name().toLowerCase(Locale.ROOT));
            g.writeNumberField("offChipBytesPerSecond", c.offChipBytesPerSecond());
            g.writeEndObject();
            g.writeArrayFieldStart("formats");
            for (Row r : rows) {
                LayerProfile p = r.profile();
                g.writeStartObject();
                g.writeStringField("format", r.format().id());
                g.writeNumberField("packedBytes", p.packedBytes());
                g.writeNumberField("bitsPerWeight", 8.0 * p.packedBytes() / ((double) p.n() * p.k()));
                g.writeNumberField("outliers", p.outliers());
                g.writeNumberField("pulses", p.pulses());
                g.writeNumberField("scaleBlocksPerRow", p.blocks());
                if (r.rates().source() != null) {
                    g.writeObjectFieldStart("rates");
                    g.writeStringField("source", r.rates().source());
                    if (!r.rates().source().equals("given")) {
                        g.writeStringField("algorithm", "rtn");
                        g.writeNumberField("layers", r.rates().layers());
                        g.writeNumberField("weights", r.rates().weights());
                    }
                    g.writeNumberField("outliersPerWeight", r.rates().outliersPerWeight());
                    g.writeNumberField("pulsesPerWeight", r.rates().pulsesPerWeight());
                    g.writeEndObject();
                }
                g.writeArrayFieldStart("runs");
                for (int i = 0; i < tokens.size(); i++) {
                    Estimate e = r.runs().get(i);
                    g.writeStartObject();
                    g.writeNumberField("tokens", tokens.get(i));
                    g.writeNumberField("macs", e.macs());
                    g.writeNumberField("computeCycles", e.computeCycles());
                    g.writeNumberField("memoryCycles", e.memoryCycles());
                    g.writeNumberField("cycles", e.cycles());
                    g.writeNumberField("seconds", e.seconds());
                    g.writeStringField("bound", e.bound().name().toLowerCase(Locale.ROOT));
                    g.writeNumberField("dramBytes", e.dramBytes());
                    g.writeNumberField("sramBytes", e.sramBytes());
                    g.writeNumberField("reconMerges", e.reconMerges());
                    g.writeNumberField("energyJoules", e.energyJoules());
                    g.writeNumberField("macJoules", e.macJoules());
                    g.writeNumberField("mergeJoules", e.auxJoules());
                    g.writeNumberField("scaleJoules", e.scaleJoules());
                    g.writeNumberField("sramJoules", e.sramJoules());
                    g.writeNumberField("dramJoules", e.dramJoules());
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        out.println();
    }
}
