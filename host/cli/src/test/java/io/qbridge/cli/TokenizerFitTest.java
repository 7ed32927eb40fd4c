package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.tokenizer.Llama2cTokenizer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tokenizer whose vocabulary is not the checkpoint's is an error naming both sizes, never garbage text. */
class TokenizerFitTest {
    /** stories260K.bin (vocab 512) from the shared golden files, as DecoderEvalCliTest finds them. */
    private static Path stories() {
        Path g = Path.of(System.getProperty("qbridge.shared", "../shared")).resolve("golden/llama2c");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(g), "shared/golden/llama2c is absent (a user's clone): skipping");
        return g.resolve("stories260K.bin");
    }

    static byte[] tokenizerBin(int n) {
        return io.qbridge.tokenizer.Llama2cTokenizerBins.ofSize(n);
    }

    @Test
    void pieceCountIsTheNumberOfWholeEntries() {
        assertEquals(600, Llama2cTokenizer.pieceCount(ByteBuffer.wrap(tokenizerBin(600))));
        byte[] cut = tokenizerBin(600);
        assertEquals(-1, Llama2cTokenizer.pieceCount(ByteBuffer.wrap(java.util.Arrays.copyOf(cut, cut.length - 1))));
    }

    @Test
    void aTokenizerOfAnotherSizeIsRefusedNamingBothSizes(@TempDir Path dir) throws Exception {
        Path STORIES = stories();
        Path big = Files.write(dir.resolve("tokenizer.bin"), tokenizerBin(600));
        Main.UserException e = assertThrows(Main.UserException.class, () -> DecoderCheckpoints.tokenizer(STORIES, big, 512));
        assertTrue(e.getMessage().contains("holds 600 pieces") && e.getMessage().contains("has a vocabulary of 512"), e.getMessage());

        CliTest.Run r = CliTest.run("generate", "--model", STORIES.toString(), "--tokenizer", big.toString(), "--steps", "4");
        assertEquals(2, r.exit(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("600") && r.err().contains("512"), r.err());
        assertEquals("", r.out(), "no text generated");

        Path fits = Files.write(dir.resolve("fits.bin"), tokenizerBin(512));
        assertEquals(512, DecoderCheckpoints.tokenizer(STORIES, fits, 512).vocabSize());
    }
}
