package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.qbridge.container.QbzFile;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.bert.BertEncoder;
import io.qbridge.model.onnx.OnnxGraph;
import io.qbridge.tokenizer.BertTokenizer;
import io.qbridge.tokenizer.BpeTokenizer;
import io.qbridge.tokenizer.Llama2cTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;

/**
 * Fuzzing of every parser of a file a user may receive from someone else: {@code .qbz}, ONNX, safetensors
 * (single file and the sharded index), llama2.c {@code .bin} and {@code tokenizer.bin}, {@code tokenizer.json}, GGUF
 * (checkpoint and its tokenizer).
 * Each may only refuse with its documented one-line error (a {@link ModelFormatException}, an
 * {@link IllegalArgumentException} such as TokenizerFormatException, an {@link IllegalStateException} (a tokenizer
 * that parses but cannot encode, e.g. no " " piece for the dummy prefix), or an IOException such as
 * {@link CheckpointException}): the exceptions the CLI prints as one line; and with a one-line message; anything else, including an OutOfMemoryError from a
 * size field that claims more than the file holds, is a finding.
 *
 * <p>Every build replays the seeds under {@code src/test/resources/io/qbridge/model/llama/FileParsersFuzzTestInputs/<method>/}.
 * To fuzz one target (coverage-guided, for at most its {@code maxDuration}):
 *
 * <pre>
 * JAZZER_FUZZ=1 ./mvnw -B test -pl host/core -am -Dtest='FileParsersFuzzTest#qbz' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
@Tag("fuzz") // its own surefire execution (host/core/pom.xml)
class FileParsersFuzzTest {
    private static Path dir;

    /** One scratch directory, and a tiny valid Hugging Face checkpoint for the safetensors targets. */
    private static synchronized Path scratch() {
        if (dir != null) return dir;
        try {
            dir = Files.createTempDirectory("qbridge-file-fuzz");
            new TinyLlama(TinyLlama.smallConfig(true), 1).writeHf(dir.resolve("sharded"), "F32", 2);
            Files.writeString(dir.resolve("single-config.json"), Files.readString(dir.resolve("sharded/config.json")));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static synchronized void cleanUp() throws IOException {
        if (dir == null) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
        dir = null;
    }

    /** Runs {@code parse}; only the documented one-line refusals may come out. */
    private static void refusesCleanly(ThrowingRunnable parse) {
        try {
            parse.run();
        } catch (ModelFormatException | IllegalArgumentException | IllegalStateException | IOException e) {
            String m = e.getMessage();
            assertTrue(m != null && !m.isBlank() && !m.contains("\n"), "a one-line message: " + e);
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws IOException;
    }

    private static synchronized Path file(String name, byte[] bytes) {
        try {
            return Files.write(scratch().resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "1m")
    void qbz(byte[] bytes) {
        Path f = file("fuzz.qbz", bytes);
        refusesCleanly(() -> {
            QbzFile q = QbzFile.open(f);
            for (String name : q.tensorNames()) {
                if (q.manifest().tensors().stream().anyMatch(t -> t.name().equals(name) && t.format().equals("f32"))) q.floats(name);
                else q.packed(name);
            }
        });
    }

    @FuzzTest(maxDuration = "1m")
    void onnx(byte[] bytes) {
        refusesCleanly(() -> BertEncoder.fromOnnx(OnnxGraph.parse(bytes, "fuzz.onnx")));
    }

    @FuzzTest(maxDuration = "1m")
    void safetensors(byte[] bytes) {
        Path d = scratch().resolve("single");
        refusesCleanly(() -> {
            Files.createDirectories(d);
            Files.copy(scratch().resolve("single-config.json"), d.resolve("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.write(d.resolve("model.safetensors"), bytes);
            HfCheckpoint.load(d);
        });
    }

    @FuzzTest(maxDuration = "1m")
    void safetensorsIndex(byte[] bytes) {
        Path d = scratch().resolve("sharded");
        refusesCleanly(() -> {
            Files.write(d.resolve("model.safetensors.index.json"), bytes);
            HfCheckpoint.load(d);
        });
    }

    @FuzzTest(maxDuration = "1m")
    void llama2cBin(byte[] bytes) {
        Path f = file("fuzz.bin", bytes);
        refusesCleanly(() -> Llama2cCheckpoint.load(f));
    }

    @FuzzTest(maxDuration = "1m")
    void gguf(byte[] bytes) {
        Path f = file("fuzz.gguf", bytes);
        refusesCleanly(() -> {
            io.qbridge.model.llama.LlamaWeights w = GgufCheckpoint.load(f);
            try (io.qbridge.model.gguf.GgufFile g = io.qbridge.model.gguf.GgufFile.open(f)) {
                io.qbridge.model.gguf.GgufTokenizer.load(g, w.config().vocabSize()).encode("fuzz é\n", true, false);
            }
        });
    }

    /** The first byte picks the vocab size the checkpoint would claim (259..514); the rest is the file. */
    @FuzzTest(maxDuration = "1m")
    void tokenizerBin(byte[] bytes) {
        if (bytes.length == 0) return;
        int vocab = 259 + (bytes[0] & 0xFF);
        ByteBuffer data = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
        refusesCleanly(() -> {
            Llama2cTokenizer.pieceCount(data);
            Llama2cTokenizer t = Llama2cTokenizer.parse(data, vocab, "fuzz.bin");
            t.encode("Hello world", true, false);
        });
    }

    @FuzzTest(maxDuration = "1m")
    void tokenizerJson(byte[] bytes) {
        refusesCleanly(() -> BpeTokenizer.fromJson(new ByteArrayInputStream(bytes), "fuzz.json").encode("Hello world", true, false));
        refusesCleanly(() -> BertTokenizer.fromJson(new ByteArrayInputStream(bytes), "fuzz.json").encode("Hello world", 16));
    }
}
