package io.qbridge.cli;

import io.qbridge.device.PerfConfig;
import io.qbridge.device.PerformanceModel;
import io.qbridge.device.PerformanceModel.Estimate;
import io.qbridge.device.PerformanceModel.LayerProfile;
import io.qbridge.emulator.WeightDecoder;
import io.qbridge.format.FineQFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.report.EstimateReport;
import io.qbridge.report.EstimateReport.Row;
import io.qbridge.runtime.LayerRates;
import io.qbridge.runtime.LayerRates.Rates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code qbridge estimate}: the performance model's time and energy for one [N][K] layer in each format, without
 * packing it (the table of {@code docs/performance-model.md} §3). Only two inputs depend on the weights: the
 * MicroScopiQ outlier rate and FineQ's pulses per weight. By default they are measured on a built-in encoder's
 * linear layers quantized with RTN (each layer packed and decoded as the emulator does at load; {@link LayerRates}),
 * then applied to the layer as rates ({@link LayerProfile#forShape}); {@code --outlier-rate} /
 * {@code --pulses-per-weight} give them instead, and {@code --outliers-from none} requires that. This class checks
 * the options and wires the parts; {@link EstimateReport} prints the table or the JSON.
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
        EstimateReport report = new EstimateReport(n, k, tokens, config, rows);
        if (json) report.writeJson(System.out);
        else report.printTable(System.out, markdown);
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
        return LayerRates.measure(f, source, encoder, (fp32, recipe, quantize) -> QuantizeCommand.withProgress(fp32, recipe, (onLayer, onCalibration) -> quantize.apply(onLayer)), line -> Log.info("%s", line));
    }
}
