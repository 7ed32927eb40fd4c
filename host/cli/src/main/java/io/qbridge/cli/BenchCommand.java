package io.qbridge.cli;

import io.qbridge.data.EvalCorpus;
import io.qbridge.device.Accelerator;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.report.BenchReport;
import io.qbridge.report.LatencyChart;
import io.qbridge.runtime.EncoderBench;
import io.qbridge.runtime.RunStats;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code qbridge bench}: latency percentiles of a quantized encoder on a device, per model forward and per
 * layer, over N runs of the fixed 64-sentence bench set after warm-up runs that are not counted.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Latency percentiles (p50/p95/p99) per model forward and per layer on a device, warm-up excluded.")
final class BenchCommand implements Callable<Integer> {
    @Mixin RunCommand.DeviceModelOptions options;

    @Option(names = "--runs", defaultValue = "10", paramLabel = "N", description = "Measured runs (default 10).")
    int runs;

    @Option(names = "--warmup", defaultValue = "3", paramLabel = "N", description = "Warm-up runs, not measured (default 3).")
    int warmup;

    @Option(names = "--compare-fp32", description = "Also time the FP32 host model on the same sentences (each run right after the device run) and print the ratio.")
    boolean compareFp32;

    @Option(names = "--json", description = "Print the results as JSON on stdout.")
    boolean json;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "Also write a PNG bar chart of the per-layer breakdown (host p50 and modelled device time).")
    java.nio.file.Path chart;

    @Override
    public Integer call() throws IOException {
        if (runs < 1) throw new Main.UserException("--runs must be >= 1");
        if (warmup < 0) throw new Main.UserException("--warmup must be >= 0");
        if (chart != null && chart.toAbsolutePath().getParent() != null && !java.nio.file.Files.isDirectory(chart.toAbsolutePath().getParent())) {
            throw new Main.UserException(chart + ": its directory does not exist");
        }
        List<String> sentences = EvalCorpus.split(EvalCorpus.Split.BENCH);
        try (Accelerator dev = options.open()) { // first: a missing device fails before minutes of quantization
            io.qbridge.pipeline.PreparedEncoder prep = options.prepare();
            RunStats stats = new RunStats();
            EncoderModel model = AcceleratorModels.onDevice(prep.base(), prep.layers(), dev, stats);
            List<int[]> ids = model.tokenize(sentences, null);
            // the FP32 model (a .qbz: its host model over the dequantized weights)
            EncoderBench.Samples samples = EncoderBench.measure(model, stats, compareFp32 ? prep.base() : null, ids, warmup, runs, null);
            BenchReport report = new BenchReport(prep.name(), prep.format(), dev.describe(), sentences.size(), runs, warmup, samples);
            if (json) {
                System.out.write(report.json());
                System.out.flush();
            } else {
                report.printText(System.out);
            }
            if (chart != null) {
                LatencyChart.write(chart, report.chartTitle(), report.chartBars());
                Log.info("wrote %s", chart);
            }
        }
        return 0;
    }
}
