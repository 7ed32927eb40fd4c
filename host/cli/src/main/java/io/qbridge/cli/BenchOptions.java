package io.qbridge.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** What a latency benchmark measures and prints; taken alike by {@code bench} and {@code submit bench}. */
final class BenchOptions {
    @Option(names = "--runs", defaultValue = "10", paramLabel = "N", description = "Measured runs (default 10).")
    int runs;

    @Option(names = "--warmup", defaultValue = "3", paramLabel = "N", description = "Warm-up runs, not measured (default 3).")
    int warmup;

    @Option(names = "--compare-fp32", description = "Also time the FP32 host model on the same sentences (each run right after the device run) and print the ratio.")
    boolean compareFp32;

    @Option(names = "--json", description = "Print the results as JSON on stdout (the document 'qbridge bench --json' prints).")
    boolean json;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "Also write a PNG bar chart of the per-layer breakdown (host p50 beside the modelled device time, or the measured on-device p50 on an XRT device) to this file.")
    Path chart;

    /** Checks the numbers and the chart's directory before any work starts; a problem is a one-line user error. */
    void validate() {
        if (runs < 1) throw new Main.UserException("--runs must be >= 1");
        if (warmup < 0) throw new Main.UserException("--warmup must be >= 0");
        Path dir = chartDirectory();
        if (dir != null && !Files.isDirectory(dir)) throw new Main.UserException(chart + ": its directory does not exist");
    }

    /** The directory the chart goes into (null without {@code --chart}). */
    Path chartDirectory() {
        return chart == null ? null : chart.toAbsolutePath().getParent();
    }
}
