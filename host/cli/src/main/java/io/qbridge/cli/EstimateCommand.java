package io.qbridge.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.PerformanceModel;
import io.qbridge.device.PerformanceModel.Estimate;
import io.qbridge.device.PerformanceModel.LayerProfile;
import io.qbridge.emulator.WeightDecoder;
import io.qbridge.format.FineQFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code qbridge estimate}: the performance model's time and energy for one [N][K] layer in each format, without
 * packing it (the table of {@code docs/performance-model.md} §3). Only two inputs depend on the weights: the
 * MicroScopiQ outlier rate and FineQ's pulses per weight. By default they are measured on a built-in encoder's
 * linear layers quantized with RTN (each layer packed and decoded as the emulator does at load), then applied to
 * the layer as rates ({@link LayerProfile#forShape}); {@code --outlier-rate} / {@code --pulses-per-weight} give
 * them instead, and {@code --outliers-from none} requires that.
 */
@Command(name = "estimate", mixinStandardHelpOptions = true,
        description = "Modelled time and energy of one [N][K] layer per format at M tokens (the performance model, no packing; docs/performance-model.md §3).")
final class EstimateCommand implements Callable<Integer> {
    static final String DEFAULT_FORMATS = "rtn-w8g128,rtn-w4g128,int4-asym-g128,mxint8,mxfp8-e4m3,mxfp6-e2m3,mxfp4,"
            + "microscopiq-w4,microscopiq-w2,microscopiq-w4-c4,microscopiq-w2-c4,fineq";

    @Option(names = "--n", defaultValue = "4096", paramLabel = "N", description = "Layer outputs (default 4096).")
    int n;

    @Option(names = "--k", defaultValue = "4096", paramLabel = "K", description = "Layer inputs (default 4096).")
    int k;

    @Option(names = "--tokens", defaultValue = "1,512", split = ",", paramLabel = "M",
            description = "Tokens per run, comma-separated (default 1,512); the energy breakdown is given for the last.")
    List<Integer> tokens;

    @Option(names = "--formats", defaultValue = DEFAULT_FORMATS, split = ",", paramLabel = "FORMAT",
            description = "Comma-separated format names (default: " + DEFAULT_FORMATS + ").")
    List<String> formats;

    @Option(names = "--preset", defaultValue = "u55c", paramLabel = "u55c|u250", description = "Card the performance model describes (default u55c).")
    String preset;

    @Option(names = "--perf", paramLabel = "FILE", description = "Properties file overriding performance-model parameters (replaces --preset; see docs/performance-model.md).")
    Path perf;

    @Option(names = "--outliers-from", defaultValue = "bge-small", paramLabel = "bge-small|minilm|none",
            description = "Built-in encoder whose linear layers, quantized with RTN, give the MicroScopiQ outlier rate and FineQ pulses per weight"
                    + " (default bge-small); none: take them from --outlier-rate / --pulses-per-weight.")
    String outliersFrom;

    @Option(names = "--outlier-rate", paramLabel = "R", description = "MicroScopiQ outliers per weight (e.g. 0.04) for every MicroScopiQ format, instead of measuring it.")
    Double outlierRate;

    @Option(names = "--pulses-per-weight", paramLabel = "P", description = "FineQ temporal-coding pulses per weight (e.g. 1.3), instead of measuring it.")
    Double pulsesPerWeight;

    @Option(names = "--markdown", description = "Print the table as Markdown.")
    boolean markdown;

    @Option(names = "--json", description = "Print every estimate (cycles, bound, bytes, energy parts) as JSON.")
    boolean json;

    /** Weight-dependent inputs of one format, measured on a model's layers (or given). */
    record Rates(double outliersPerWeight, double pulsesPerWeight, String source, int layers, long weights) {}

    /** One format's profile and its estimates, in --tokens order. */
    record Row(QuantFormat format, LayerProfile profile, Rates rates, List<Estimate> runs) {}

    /** Measurements per (model, format): RTN of bge-small takes about a second per format, so a process does it once. */
    private static final Map<String, Rates> MEASURED = new ConcurrentHashMap<>();

    @Override
    public Integer call() throws IOException {
        if (n < 1) throw new Main.UserException("--n must be >= 1, got " + n);
        if (k < 1) throw new Main.UserException("--k must be >= 1, got " + k);
        if (tokens.isEmpty()) throw new Main.UserException("--tokens is empty");
        for (int m : tokens) if (m < 1) throw new Main.UserException("--tokens must all be >= 1, got " + m);
        if (markdown && json) throw new Main.UserException("--markdown and --json exclude each other");
        EncoderModel.Builtin source = null;
        if (!outliersFrom.equalsIgnoreCase("none")) {
            source = EncoderModel.Builtin.byAlias(outliersFrom);
            if (source == null) throw new Main.UserException("--outliers-from " + outliersFrom + ": not a built-in encoder (bge-small, minilm) or none");
        }
        if (perf != null && !Files.isRegularFile(perf)) throw new Main.UserException(perf + ": no such file");
        PerfConfig config = perf != null ? PerfConfig.load(perf) : PerfConfig.preset(preset);
        List<QuantFormat> fs = parseFormats();
        for (QuantFormat f : fs) {
            try {
                f.packedBytes(n, k); // the shape checks, before any measuring
            } catch (IllegalArgumentException e) {
                throw new Main.UserException(f.id() + " cannot hold a " + n + " x " + k + " layer: " + e.getMessage());
            }
            try { // the given rates too, so a bad one does not wait for other formats' measurements
                LayerProfile.forShape(f, n, k, f instanceof MicroScopiQFormat && outlierRate != null ? outlierRate : 0,
                        f instanceof FineQFormat && pulsesPerWeight != null ? pulsesPerWeight : 0);
            } catch (IllegalArgumentException e) {
                throw new Main.UserException(e.getMessage());
            }
        }
        PerformanceModel model = new PerformanceModel(config);
        List<Row> rows = new ArrayList<>();
        EncoderModel.Builtin src = source;
        EncoderModel[] fp32 = new EncoderModel[1]; // loaded once, and only if a rate must be measured
        Supplier<EncoderModel> encoder = () -> fp32[0] != null ? fp32[0] : (fp32[0] = EncoderModel.load(src));
        for (QuantFormat f : fs) {
            Rates r = rates(f, source, encoder);
            LayerProfile p;
            try {
                p = LayerProfile.forShape(f, n, k, r.outliersPerWeight(), r.pulsesPerWeight());
            } catch (IllegalArgumentException e) {
                throw new Main.UserException(e.getMessage());
            }
            List<Estimate> runs = new ArrayList<>();
            for (int m : tokens) runs.add(model.estimate(p, m));
            rows.add(new Row(f, p, r, runs));
        }
        if (json) writeJson(config, rows);
        else printTable(System.out, config, rows);
        return 0;
    }

    private List<QuantFormat> parseFormats() {
        if (formats.isEmpty()) throw new Main.UserException("--formats is empty");
        List<QuantFormat> fs = new ArrayList<>();
        for (String name : formats) {
            if (name.contains("@"))
                throw new Main.UserException("--formats takes format names, not recipes ('" + name + "'): the model needs a byte layout, and measured rates come from RTN");
            fs.add(QuantRecipe.parse(name).format()); // refuses the simulated -official recipes (no byte image) in one line
        }
        return fs;
    }

    private Rates rates(QuantFormat f, EncoderModel.Builtin source, Supplier<EncoderModel> encoder) {
        boolean outliers = f instanceof MicroScopiQFormat, pulses = f instanceof FineQFormat;
        if (!outliers && !pulses) return new Rates(0, 0, null, 0, 0);
        Double given = outliers ? outlierRate : pulsesPerWeight;
        if (given != null) return outliers ? new Rates(given, 0, "given", 0, 0) : new Rates(0, given, "given", 0, 0);
        if (source == null)
            throw new Main.UserException(f.id() + " needs " + (outliers ? "an outlier rate: give --outlier-rate" : "pulses per weight: give --pulses-per-weight")
                    + " or measure it with --outliers-from bge-small");
        return measure(f, source, encoder);
    }

    /** RTN-quantizes every linear layer of {@code source} into {@code f}, packs and decodes it, and sums outliers, pulses and weights. */
    static Rates measure(QuantFormat f, EncoderModel.Builtin source, Supplier<EncoderModel> encoder) {
        String key = source.alias + "|" + f.id();
        Rates cached = MEASURED.get(key);
        if (cached != null) return cached;
        long t0 = System.nanoTime();
        EncoderModel fp32 = encoder.get();
        QuantRecipe recipe = QuantRecipe.parse(f.id() + "@rtn");
        EncoderQuantizer.Result q = QuantizeCommand.withProgress(fp32, recipe, onLayer -> EncoderQuantizer.quantize(fp32, recipe, List.of(), onLayer));
        long outliers = 0, pulses = 0, weights = 0;
        for (QuantizedLayer l : q.layers()) {
            LayerProfile p = WeightDecoder.profile(l.packed());
            outliers += p.outliers();
            pulses += p.pulses();
            weights += (long) p.n() * p.k();
        }
        Rates r = new Rates((double) outliers / weights, (double) pulses / weights, source.alias, q.layers().size(), weights);
        Log.info("measured %s on %s (RTN, %d linear layers, %,d weights) in %.1f s", f.id(), source.alias, r.layers(), weights, (System.nanoTime() - t0) / 1e9);
        MEASURED.put(key, r);
        return r;
    }

    /** Where the weight-dependent inputs came from, one sentence (null if no format needs them). */
    private static String provenance(List<Row> rows) {
        Map<String, List<String>> whatBySource = new java.util.LinkedHashMap<>();
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

    void printTable(PrintStream out, PerfConfig c, List<Row> rows) {
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
                if (r.runs().get(i).bound() == io.qbridge.device.RunResult.Bound.MEMORY) memory.add(r.format().id() + " at M=" + tokens.get(i));
        out.println();
        out.println(memory.isEmpty() ? "Every run is compute-bound." : "Memory-bound: " + String.join(", ", memory) + "; every other run is compute-bound.");
        int fewest = tokens.indexOf(tokens.stream().mapToInt(Integer::intValue).min().orElse(0));
        boolean computeBound = rows.stream().allMatch(r -> r.runs().get(fewest).bound() == io.qbridge.device.RunResult.Bound.COMPUTE);
        String rowsNote = computeBound ? fewTokensNote(c, tokens) : null;
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

    private void writeJson(PerfConfig c, List<Row> rows) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(System.out, JsonEncoding.UTF8)) {
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
        System.out.println();
    }
}
