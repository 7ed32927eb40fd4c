package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.tokenizer.Llama2cTokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
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

    /** A llama2.c tokenizer.bin with {@code n} pieces: the 3 control pieces, the 256 byte pieces, then words. */
    static byte[] tokenizerBin(int n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        out.write(b.putInt(0, 8).array(), 0, 4);
        for (int i = 0; i < n; i++) {
            String piece = i == 0 ? "<unk>" : i == 1 ? "\\n<s>\\n" : i == 2 ? "\\n</s>\\n" : i < 259 ? String.format("<0x%02X>", i - 3) : i == 259 ? " " : "w" + i;
            byte[] p = piece.getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer e = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(-i).putInt(p.length);
            out.writeBytes(e.array());
            out.writeBytes(p);
        }
        return out.toByteArray();
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
