package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The llama2.c loader: every tensor lands where run.c reads it, and broken headers and sizes are refused clearly. */
class Llama2cCheckpointTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {true, false})
    void everyTensorLandsInPlace(boolean shared) throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(shared), 3);
        Path bin = tmp.resolve("m.bin");
        model.writeLlama2c(bin);
        LlamaWeights w = Llama2cCheckpoint.load(bin);
        assertEquals(model.config, w.config());
        assertEquals(Llama2cCheckpoint.fileSize(model.config), Files.size(bin));
        assertArrayEquals(model.embedding, w.tokenEmbedding());
        assertArrayEquals(model.finalNorm, w.finalNorm());
        assertArrayEquals(model.classifier, w.classifier().weightsOutIn());
        for (int l = 0; l < model.config.nLayers(); l++) {
            LlamaWeights.Layer layer = w.layers().get(l);
            assertArrayEquals(model.attnNorm[l], layer.attnNorm());
            assertArrayEquals(model.ffnNorm[l], layer.ffnNorm());
            assertArrayEquals(model.wq[l], layer.wq().weightsOutIn());
            assertArrayEquals(model.wk[l], layer.wk().weightsOutIn());
            assertArrayEquals(model.wv[l], layer.wv().weightsOutIn());
            assertArrayEquals(model.wo[l], layer.wo().weightsOutIn());
            assertArrayEquals(model.w1[l], layer.w1().weightsOutIn());
            assertArrayEquals(model.w2[l], layer.w2().weightsOutIn());
            assertArrayEquals(model.w3[l], layer.w3().weightsOutIn());
            float[] qkv = layer.wqkv().weightsOutIn();
            assertArrayEquals(model.wv[l], Arrays.copyOfRange(qkv, qkv.length - model.wv[l].length, qkv.length), "fused view ends with wv");
        }
    }

    @Test
    void randomCheckpointWriterWritesLoadableFiles() throws IOException {
        LlamaConfig c = LlamaConfig.llama2c(64, 96, 2, 4, 1, 300, 40, false);
        Path bin = tmp.resolve("r.bin");
        assertEquals(Llama2cCheckpoint.fileSize(c), RandomCheckpointWriter.write(bin, c, 5));
        LlamaWeights w = Llama2cCheckpoint.load(bin);
        assertEquals(c, w.config());
        float[] logits = new LlamaDecoder(w).forward(7, 0);
        for (float v : logits) assertTrue(Float.isFinite(v));
        // Same seed, same bytes.
        Path again = tmp.resolve("r2.bin");
        RandomCheckpointWriter.write(again, c, 5);
        assertEquals(-1, Files.mismatch(bin, again));
    }

    private Path withHeader(int... header) throws IOException {
        Path p = tmp.resolve("h" + System.nanoTime() + ".bin");
        ByteBuffer b = ByteBuffer.allocate(header.length * 4 + 64).order(ByteOrder.LITTLE_ENDIAN);
        for (int h : header) b.putInt(h);
        Files.write(p, b.array());
        return p;
    }

    private static String failure(Path file) {
        return assertThrows(CheckpointException.class, () -> Llama2cCheckpoint.load(file)).getMessage();
    }

    private static void assertMentions(String message, String... words) {
        for (String w : words) assertTrue(message.contains(w), "message lacks '" + w + "': " + message);
    }

    @Test
    void truncatedAndOverlongFilesNameExpectedAndActualSize() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 3);
        Path bin = tmp.resolve("t.bin");
        model.writeLlama2c(bin);
        byte[] good = Files.readAllBytes(bin);
        long expected = Llama2cCheckpoint.fileSize(model.config);

        Files.write(bin, Arrays.copyOf(good, good.length - 1));
        assertMentions(failure(bin), bin.toString(), "truncated", "expected " + expected + " bytes", "actual " + (expected - 1) + " bytes");

        Files.write(bin, Arrays.copyOf(good, good.length + 4));
        assertMentions(failure(bin), "longer than its header implies", "actual " + (expected + 4));

        // Unshared classifier flagged but not stored: exactly vocab x dim floats missing.
        ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).putInt(20, -model.config.vocabSize());
        Files.write(bin, good);
        assertMentions(failure(bin), "truncated", "separate classifier");

        Files.write(bin, new byte[10]);
        assertMentions(failure(bin), "truncated", "10 bytes");

        assertMentions(failure(tmp.resolve("absent.bin")), "does not exist");
    }

    @Test
    void badHeadersAreRefused() throws IOException {
        assertMentions(failure(withHeader(0, 172, 5, 8, 4, 512, 512)), "bad header", "dim must be in");
        assertMentions(failure(withHeader(64, -172, 5, 8, 4, 512, 512)), "hiddenDim must be in");
        assertMentions(failure(withHeader(64, 172, 5, 7, 7, 512, 512)), "dim 64 is not a multiple of nHeads 7");
        assertMentions(failure(withHeader(64, 172, 5, 8, 3, 512, 512)), "nHeads 8 is not a multiple of nKvHeads 3");
        assertMentions(failure(withHeader(64, 172, 5, 8, 4, Integer.MIN_VALUE, 512)), "vocab_size");
        assertMentions(failure(withHeader(64, 172, 5, 8, 4, 512, 0)), "seqLen must be in");
        assertMentions(failure(withHeader(1 << 30, 172, 5, 8, 4, 512, 512)), "dim must be in [1, 65536]");
        // Each field within its limit, but vocab x dim overflows an int: refused before any allocation.
        assertMentions(failure(withHeader(65536, 4096, 1, 8, 8, 1 << 22, 512)), "does not fit one array");
        assertMentions(failure(withHeader(65536, 4096, 1, 8, 8, 1 << 12, 512)), "attention weights", "do not fit one array");
        // The header is echoed so a user can see which field is wrong.
        assertMentions(failure(withHeader(64, 172, 5, 8, 3, 512, 512)), "dim=64 hidden_dim=172 n_layers=5 n_heads=8 n_kv_heads=3");
    }

    @Test
    void sharedClassifierIsTheEmbedding() throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(true), 3);
        Path bin = tmp.resolve("s.bin");
        model.writeLlama2c(bin);
        LlamaWeights w = Llama2cCheckpoint.load(bin);
        assertSame(model.config.sharedClassifier(), w.config().sharedClassifier());
        assertArrayEquals(w.tokenEmbedding(), w.classifier().weightsOutIn());
    }
}
