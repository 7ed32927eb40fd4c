package io.qbridge.cli;

import io.qbridge.pipeline.LoBcqCalibration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qbridge lobcq-codebooks}: re-derives LO-BCQ's universal codebooks (docs/formats.md §8.3) and writes the resource text. */
@Command(name = "lobcq-codebooks", mixinStandardHelpOptions = true,
        description = "Calibrate LO-BCQ's universal codebooks on the built-in MiniLM (settings of resource version 1, docs/formats.md §8.3) and write the resource file.")
final class LoBcqCodebooksCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write the table file (written to a temporary file, then renamed).")
    Path out;

    @Override
    public Integer call() throws Exception {
        LoBcqCalibration c = LoBcqCalibration.V1;
        Log.info("calibrating on %s, %d sentences, %d blocks per kind…", c.model().alias, c.sentences(), c.design().maxBlocksPerKind());
        List<LoBcqCalibration.Table> tables = c.run();
        for (LoBcqCalibration.Table t : tables) Log.info("%s: %s", t.format().tableKey(), t.provenance(c));
        Path dir = out.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new Main.UserException("--out: directory " + dir + " does not exist");
        Path tmp = Files.createTempFile(dir, "." + out.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, c.resourceText(tables), StandardCharsets.UTF_8);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        System.out.println("wrote " + out);
        return 0;
    }
}
