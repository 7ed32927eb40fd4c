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

/**
 * {@code qbridge bench}: latency percentiles of a quantized encoder on a device, per model forward and per
 * layer, over N runs of the fixed 64-sentence bench set after warm-up runs that are not counted.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Latency percentiles (p50/p95/p99) per model forward and per layer on a device, warm-up excluded.")
final class BenchCommand implements Callable<Integer> {
    @Mixin DeviceModelOptions options;

    @Mixin BenchOptions bench;

    @Override
    public Integer call() throws IOException {
        bench.validate();
        List<String> sentences = EvalCorpus.split(EvalCorpus.Split.BENCH);
        try (Accelerator dev = options.open()) { // first: a missing device fails before minutes of quantization
            io.qbridge.pipeline.PreparedEncoder prep = options.prepare();
            RunStats stats = new RunStats();
            EncoderModel model = AcceleratorModels.onDevice(prep.base(), prep.layers(), dev, stats);
            List<int[]> ids = model.tokenize(sentences, null);
            // the FP32 model (a .qbz: its host model over the dequantized weights)
            EncoderBench.Samples samples = EncoderBench.measure(model, stats, bench.compareFp32 ? prep.base() : null, ids, bench.warmup, bench.runs, null);
            BenchReport report = new BenchReport(prep.name(), prep.format(), dev.describe(), sentences.size(), bench.runs, bench.warmup, samples);
            if (bench.json) {
                System.out.write(report.json());
                System.out.flush();
            } else {
                report.printText(System.out);
            }
            for (String w : report.warnings()) Log.info("warning: %s", w);
            if (bench.chart != null) {
                LatencyChart.write(bench.chart, report.chartTitle(), report.chartBars(), report.deviceSeries());
                Log.info("wrote %s", bench.chart);
            }
        }
        return 0;
    }
}
