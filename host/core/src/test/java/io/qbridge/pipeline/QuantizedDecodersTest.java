package io.qbridge.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.container.QbzEntry;
import io.qbridge.container.QbzFile;
import io.qbridge.container.QbzManifest;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaConfig;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.RandomCheckpointWriter;
import io.qbridge.tokenizer.TokenizerFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoder {@code .qbz} containers: what is loaded computes bit for bit what the quantized checkpoint computes
 * (RTN, GPTQ with act-order, a packed classifier, a separate FP32 classifier), the same input gives the same
 * bytes, and damaged or mismatched files are one-line errors.
 */
class QuantizedDecodersTest {
    static final int VOCAB = 300;

    /** A checkpoint of K = 128 and 256 (every format's block divides them): dim 128, hidden 256, 2 blocks, 4 heads over 2 KV heads. */
    static LlamaWeights checkpoint(Path dir, boolean shared) throws Exception {
        Path file = dir.resolve(shared ? "tiny.bin" : "tiny-unshared.bin");
        RandomCheckpointWriter.write(file, LlamaConfig.llama2c(128, 256, 2, 4, 2, VOCAB, 16, shared), 5);
        return Llama2cCheckpoint.load(file);
    }

    static byte[] tokenizerBin(int n) {
        return io.qbridge.tokenizer.Llama2cTokenizerBins.ofSize(n);
    }

    static QuantizedDecoders.Checkpoint base() {
        return new QuantizedDecoders.Checkpoint("llama2c", "cd".repeat(32), new TokenizerFile(TokenizerFile.LLAMA2C, tokenizerBin(VOCAB)));
    }

    private static List<int[]> calibration() {
        SplittableRandom rnd = new SplittableRandom(3);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] s = new int[12];
            s[0] = 1;
            for (int t = 1; t < s.length; t++) s[t] = rnd.nextInt(VOCAB);
            out.add(s);
        }
        return out;
    }

    /** Logits at each position of a fixed token sequence, as raw float bits. */
    private static int[] logitBits(LlamaWeights w) {
        LlamaDecoder d = new LlamaDecoder(w);
        int[] tokens = {1, 17, 260, 4, 299, 101};
        int[] bits = new int[tokens.length * VOCAB];
        for (int p = 0; p < tokens.length; p++) {
            float[] l = d.forward(tokens[p], p);
            for (int i = 0; i < VOCAB; i++) bits[p * VOCAB + i] = Float.floatToRawIntBits(l[i]);
        }
        return bits;
    }

    private static void assertSameLayers(DecoderQuantizer.Result r, QuantizedDecoders.Loaded q) {
        List<QuantizedLayer> want = r.layerList(), got = List.copyOf(q.blockLayers().values());
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) {
            assertEquals(want.get(i).name(), got.get(i).name()); // layers.L.wq ... as the loaders name them
            assertArrayEquals(want.get(i).packed().bytes(), got.get(i).packed().bytes(), want.get(i).name());
            assertArrayEquals(want.get(i).inputPerm(), got.get(i).inputPerm(), want.get(i).name());
            assertArrayEquals(want.get(i).dequantized(), got.get(i).dequantized(), want.get(i).name());
        }
    }

    @Test
    void anRtnContainerComputesWhatTheQuantizedCheckpointComputes(@TempDir Path dir) throws Exception {
        LlamaWeights fp32 = checkpoint(dir, true);
        DecoderQuantizer.Result r = DecoderQuantizer.quantize(fp32, QuantRecipe.parse("mxint8"), List.of(), null);
        Path qbz = dir.resolve("m.qbz");
        QuantizedDecoders.save(qbz, fp32, base(), r, null);
        QuantizedDecoders.Loaded q = QuantizedDecoders.load(qbz);
        assertSameLayers(r, q);
        assertNull(q.classifier());
        assertEquals(fp32.config(), q.model().config());
        assertArrayEquals(logitBits(r.model()), logitBits(q.model()));
        // shared classifier: not stored (it is the embedding); the tokenizer is carried byte for byte
        assertFalse(QbzFile.open(qbz).has(QuantizedDecoders.CLASSIFIER));
        assertArrayEquals(tokenizerBin(VOCAB), q.tokenizer().bytes());
        assertEquals(VOCAB, q.textTokenizer("m.qbz").vocabSize());
        QbzManifest m = q.manifest();
        assertEquals("llama-cdcdcdcdcdcd", m.model());
        assertEquals("mxint8", m.format());
        assertEquals(new QbzManifest.Decoder("llama", "llama2c", fp32.config(), "tokenizer.bin"), m.decoder());
        assertNull(m.external());
        assertFalse(m.hasExternalBase());
    }

    @Test
    void gptqWithActOrderAndAPackedClassifierRoundTrip(@TempDir Path dir) throws Exception {
        LlamaWeights fp32 = checkpoint(dir, false);
        DecoderQuantizer.Result r = DecoderQuantizer.quantize(fp32, QuantRecipe.parse("rtn-w4g128@gptq-act"), calibration(), null);
        QuantizedLayer cls = DecoderQuantizer.quantizeClassifier(fp32, r.recipe().format());
        Path qbz = dir.resolve("g.qbz");
        QuantizedDecoders.save(qbz, fp32, base(), r, cls);
        QuantizedDecoders.Loaded q = QuantizedDecoders.load(qbz);
        assertSameLayers(r, q);
        assertTrue(q.blockLayers().values().stream().anyMatch(l -> l.inputPerm() != null), "act-order kept its permutations");
        assertNotNull(q.classifier());
        assertArrayEquals(cls.packed().bytes(), q.classifier().packed().bytes());
        assertArrayEquals(cls.dequantized(), q.classifier().dequantized());
        LlamaWeights expected = new LlamaWeights(r.model().config(), r.model().tokenEmbedding(), r.model().layers(), r.model().finalNorm(), cls.toHostLinear());
        assertArrayEquals(logitBits(expected), logitBits(q.model()));
        assertEquals("rtn, packed (runs on the device)", q.manifest().settings().get("classifier"));

        // without the packed classifier, the separate FP32 one is carried
        Path fp = dir.resolve("f.qbz");
        QuantizedDecoders.save(fp, fp32, base(), r, null);
        QuantizedDecoders.Loaded f = QuantizedDecoders.load(fp);
        assertNull(f.classifier());
        assertArrayEquals(logitBits(r.model()), logitBits(f.model()));
    }

    @Test
    void theSameInputGivesTheSameBytes(@TempDir Path dir) throws Exception {
        LlamaWeights fp32 = checkpoint(dir, true);
        QuantRecipe recipe = QuantRecipe.parse("microscopiq-w4"); // GPTQ path
        Path a = dir.resolve("a.qbz"), b = dir.resolve("b.qbz");
        QuantizedDecoders.save(a, fp32, base(), DecoderQuantizer.quantize(fp32, recipe, calibration(), null), null);
        QuantizedDecoders.save(b, checkpoint(dir, true), base(), DecoderQuantizer.quantize(checkpoint(dir, true), recipe, calibration(), null), null);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void damagedOrMismatchedContainersAreOneLineErrors(@TempDir Path dir) throws Exception {
        LlamaWeights fp32 = checkpoint(dir, true);
        Path qbz = dir.resolve("m.qbz");
        QuantizedDecoders.save(qbz, fp32, base(), DecoderQuantizer.quantize(fp32, QuantRecipe.parse("mxint8"), List.of(), null), null);
        byte[] bytes = Files.readAllBytes(qbz);

        Path cut = Files.write(dir.resolve("cut.qbz"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> QuantizedDecoders.load(cut));
        assertTrue(e.getMessage().contains("truncated") && !e.getMessage().contains("\n"), e.getMessage());

        byte[] flipped = bytes.clone();
        flipped[flipped.length - 10] ^= 1; // inside the tokenizer entry, the last tensor
        Path bad = Files.write(dir.resolve("bad.qbz"), flipped);
        e = assertThrows(ModelFormatException.class, () -> QuantizedDecoders.load(bad));
        assertTrue(e.getMessage().contains("'tokenizer.bin' fails its sha256 check"), e.getMessage());

        // an encoder loader refuses a decoder container, and the other way round
        e = assertThrows(ModelFormatException.class, () -> QuantizedEncoders.load(qbz));
        assertTrue(e.getMessage().contains("is a llama decoder container, not an encoder's"), e.getMessage());
        Path enc = dir.resolve("enc.qbz");
        QbzFile.write(enc, "minilm", "ab".repeat(32), "mxint8", Map.of(), List.of(new QbzEntry.Floats("x.bias", new float[] {1}, new long[] {1})));
        e = assertThrows(ModelFormatException.class, () -> QuantizedDecoders.load(enc));
        assertTrue(e.getMessage().contains("is an encoder container (base minilm)"), e.getMessage());

        // a manifest whose config does not match its tensors
        LlamaConfig other = LlamaConfig.llama2c(128, 256, 3, 4, 2, VOCAB, 16, true);
        Path lying = dir.resolve("lying.qbz");
        QbzFile.write(lying, "llama-x", "ab".repeat(32), new QbzManifest.Decoder("llama", "llama2c", other, "tokenizer.bin"), "mxint8", Map.of(),
                List.of(new QbzEntry.Floats("token_embedding", fp32.tokenEmbedding(), new long[] {VOCAB, 128})));
        e = assertThrows(ModelFormatException.class, () -> QuantizedDecoders.load(lying));
        assertTrue(e.getMessage().contains("lacks the decoder tensor 'layers.0.attn_norm'"), e.getMessage());
    }

    @Test
    void floatHyperParametersSurviveTheManifestExactly(@TempDir Path dir) throws Exception {
        float[][] values = {{10000f, 1e-5f}, {500000f, 1e-6f}, {1e6f, 1.0000001e-5f}, {Math.nextUp(10000f), Float.MIN_NORMAL}};
        for (float[] v : values) {
            LlamaConfig c = new LlamaConfig(128, 256, 1, 4, 2, VOCAB, 16, v[0], v[1], false, 128000, 128001);
            Path p = dir.resolve("c.qbz");
            QbzFile.write(p, "llama-x", "ab".repeat(32), new QbzManifest.Decoder("llama", "hf", c, "tokenizer.json"), "mxint8", Map.of(),
                    List.of(new QbzEntry.Bytes("tokenizer.json", "{}".getBytes(StandardCharsets.UTF_8))));
            QbzManifest m = QbzFile.open(p).manifest();
            assertEquals(c, m.decoder().config());
            assertEquals(Float.floatToRawIntBits(v[1]), Float.floatToRawIntBits(m.decoder().config().normEps()));
            assertArrayEquals("{}".getBytes(StandardCharsets.UTF_8), QbzFile.open(p).bytes("tokenizer.json"));
        }
    }
}
