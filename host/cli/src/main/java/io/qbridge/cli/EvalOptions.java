package io.qbridge.cli;

import java.util.List;
import picocli.CommandLine.Option;

/** The quality table's options, shared by {@code qbridge eval} and {@code qbridge submit eval}. */
final class EvalOptions {
    @Option(names = "--formats", defaultValue = EvalCommand.DEFAULT_FORMATS, split = ",", paramLabel = "LIST",
            description = "Comma-separated recipes (default: " + EvalCommand.DEFAULT_FORMATS + ").")
    List<String> formats;

    @Option(names = "--held-out", defaultValue = "1000", paramLabel = "N", description = "Held-out sentences for cosine and queries (default 1000).")
    int heldOut;

    @Option(names = "--retrieval", defaultValue = "1000", paramLabel = "N", description = "Retrieval-set sentences (default 1000).")
    int retrieval;

    @Option(names = "--markdown", description = "Print the table as Markdown.")
    boolean markdown;
}
