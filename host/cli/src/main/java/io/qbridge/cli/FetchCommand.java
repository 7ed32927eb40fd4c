package io.qbridge.cli;

import io.qbridge.client.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qbridge fetch ID --out DIR}: downloads a job's artifact, checked against its sha256. */
@Command(name = "fetch", mixinStandardHelpOptions = true, description = "Download a job's artifact (a .qbz from a quantize job).")
public final class FetchCommand implements Callable<Integer> {
    @Mixin RemoteOptions remote;

    @Parameters(paramLabel = "ID", description = "The job id.")
    String id;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The directory to write into (created if missing).")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(out) && !Files.isDirectory(out)) throw new Main.UserException(out + ": exists and is not a directory");
        Files.createDirectories(out);
        try (QbridgeClient c = remote.connect()) {
            Path p = remote.call(() -> c.download(id, out));
            System.out.println("wrote " + p + " (" + Files.size(p) + " bytes)");
        }
        return 0;
    }
}
