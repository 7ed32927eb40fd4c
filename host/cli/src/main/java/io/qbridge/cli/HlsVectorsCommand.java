package io.qbridge.cli;

import io.qbridge.emulator.HlsVectors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qbridge hls-vectors}: the HLS kernels' C-simulation vectors, written by {@link HlsVectors} (hls/README.md). */
@Command(name = "hls-vectors", mixinStandardHelpOptions = true,
        description = "Write test vectors for the HLS kernels' C-simulation benches: layers packed by the real packer, the host's activation codes, "
                + "and this emulator's outputs (LO-BCQ W4A4: its encoded records; Ax-BxP: AxBxpKernel's outputs under several configurations; "
                + "one <kernel>.qbv per kernel; layout in hls/README.md).")
final class HlsVectorsCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for microscopiq.qbv, fineq.qbv, mx.qbv, intgroup.qbv, lobcq.qbv, axbxp.qbv and model-cycles.tsv.")
    Path out;

    @Option(names = "--no-real", description = "Only the random and edge-case layers (skip the bge-small layers).")
    boolean noReal;

    @Override
    public Integer call() throws IOException {
        for (Map.Entry<String, Integer> e : HlsVectors.write(out, !noReal).entrySet())
            System.out.printf("%s: %d cases%n", out.resolve(e.getKey() + ".qbv"), e.getValue());
        return 0;
    }
}
