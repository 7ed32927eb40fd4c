package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.model.Linear;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The decoder against a plain double-precision transcription of the LLaMA-2 forward pass, and its two paths against each other. */
class LlamaDecoderTest {
    private static final int[] TOKENS = {1, 9, 40, 40, 3, 66, 0, 17, 25, 8, 61, 2, 30, 31, 32, 5, 5, 5, 44, 12};

    @TempDir
    Path tmp;

    private LlamaWeights load(TinyLlama model) throws IOException {
        Path bin = tmp.resolve("m" + System.nanoTime() + ".bin");
        model.writeLlama2c(bin);
        return Llama2cCheckpoint.load(bin);
    }

    private static void assertClose(double[] expected, float[] actual, double tol, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * Math.max(1, Math.abs(expected[i])), what + " logit " + i);
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5f * Math.max(1f, Math.abs(expected[i])), what + " logit " + i);
        }
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {true, false})
    void matchesDoublePrecisionReference(boolean shared) throws IOException {
        TinyLlama model = new TinyLlama(TinyLlama.smallConfig(shared), 11);
        LlamaDecoder decoder = new LlamaDecoder(load(model));
        ReferenceLlama reference = new ReferenceLlama(model);
        for (int pos = 0; pos < TOKENS.length; pos++) {
            assertClose(reference.forward(TOKENS[pos], pos), decoder.forward(TOKENS[pos], pos), 1e-4, "position " + pos);
        }
    }

    /** Prompt batches of 20 rows (fork-join matrix path) and of up to 8 (team path), continued one token at a time. */
    @Test
    void batchedPromptEqualsPositionByPosition() throws IOException {
        LlamaWeights w = load(new TinyLlama(TinyLlama.smallConfig(false), 12));
        LlamaDecoder single = new LlamaDecoder(w);
        float[][] expected = new float[TOKENS.length][];
        for (int pos = 0; pos < TOKENS.length; pos++) expected[pos] = single.forward(TOKENS[pos], pos).clone();

        LlamaDecoder whole = new LlamaDecoder(w);
        assertClose(expected[TOKENS.length - 1], whole.forwardPrompt(TOKENS, 0), "20-row prompt");

        LlamaDecoder parts = new LlamaDecoder(w);
        assertClose(expected[4], parts.forwardPrompt(Arrays.copyOf(TOKENS, 5), 0), "positions 0-4");
        assertClose(expected[12], parts.forwardPrompt(Arrays.copyOfRange(TOKENS, 5, 13), 5), "positions 5-12");
        for (int pos = 13; pos < TOKENS.length; pos++) {
            assertClose(expected[pos], parts.forward(TOKENS[pos], pos), "position " + pos + " after two batches");
        }
    }

    /** Every matrix product goes through the weights' Linears: 7 per layer plus the classifier, per call. */
    @Test
    void everyMatrixProductGoesThroughLinear() throws IOException {
        LlamaWeights w = load(new TinyLlama(TinyLlama.smallConfig(true), 13));
        AtomicInteger calls = new AtomicInteger();
        LlamaWeights counted = w.mapLinears(lin -> new Linear() {
            @Override public String name() { return lin.name(); }
            @Override public int inFeatures() { return lin.inFeatures(); }
            @Override public int outFeatures() { return lin.outFeatures(); }
            @Override public float[] weightsOutIn() { return lin.weightsOutIn(); }
            @Override public float[] bias() { return lin.bias(); }
            @Override public void forward(float[] x, int rows, float[] y) {
                calls.incrementAndGet();
                lin.forward(x, rows, y);
            }
        });
        assertTrue(counted.layers().get(0).wqkv() == null, "mapping drops the fused views");
        LlamaDecoder reference = new LlamaDecoder(w), decoder = new LlamaDecoder(counted);
        int expectedCalls = 7 * w.config().nLayers() + 1;
        assertClose(reference.forward(TOKENS[0], 0), decoder.forward(TOKENS[0], 0), "through wrappers");
        assertEquals(expectedCalls, calls.getAndSet(0));
        assertClose(reference.forwardPrompt(Arrays.copyOfRange(TOKENS, 1, 4), 1), decoder.forwardPrompt(Arrays.copyOfRange(TOKENS, 1, 4), 1),
                "prompt through wrappers");
        assertEquals(expectedCalls, calls.get());
    }

    @Test
    void refusesOutOfRangeTokensAndPositions() throws IOException {
        LlamaDecoder d = new LlamaDecoder(load(new TinyLlama(TinyLlama.smallConfig(true), 14)), 10);
        assertEquals(10, d.maxSeqLen());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.forward(67, 0)).getMessage().contains("token 67 outside [0, 67)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.forward(-1, 0)).getMessage().contains("token -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.forward(3, 10)).getMessage().contains("position 10 outside [0, 10)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.forwardPrompt(new int[] {1, 2, 3}, 8)).getMessage()
                .contains("positions [8, 11) outside [0, 10)"));
        assertThrows(IllegalArgumentException.class, () -> d.forwardPrompt(new int[0], 0));
        assertThrows(IllegalArgumentException.class, () -> new LlamaDecoder(d.weights(), 25));
    }

    /**
     * LLaMA-2 written out plainly in double precision from the model's arrays (Meta layout), independent of the
     * decoder's code: RMSNorm, interleaved RoPE, grouped-query attention over a cache, SwiGLU, classifier.
     */
    static final class ReferenceLlama {
        private final TinyLlama m;
        private final LlamaConfig c;
        private final double[][][] keys, values;

        ReferenceLlama(TinyLlama m) {
            this.m = m;
            this.c = m.config;
            keys = new double[c.nLayers()][c.seqLen()][];
            values = new double[c.nLayers()][c.seqLen()][];
        }

        private static double[] matvec(float[] w, double[] x, int rows) {
            double[] y = new double[rows];
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int k = 0; k < x.length; k++) s += w[r * x.length + k] * x[k];
                y[r] = s;
            }
            return y;
        }

        private double[] rmsNorm(double[] x, float[] g) {
            double ss = 0;
            for (double v : x) ss += v * v;
            double inv = 1 / Math.sqrt(ss / x.length + c.normEps());
            double[] y = new double[x.length];
            for (int i = 0; i < x.length; i++) y[i] = x[i] * inv * g[i];
            return y;
        }

        private void rope(double[] v, int pos) {
            int hs = c.headSize();
            for (int i = 0; i < v.length; i += 2) {
                double angle = pos / Math.pow(c.ropeTheta(), (i % hs) / (double) hs);
                double a = v[i], b = v[i + 1];
                v[i] = a * Math.cos(angle) - b * Math.sin(angle);
                v[i + 1] = a * Math.sin(angle) + b * Math.cos(angle);
            }
        }

        double[] forward(int token, int pos) {
            int dim = c.dim(), hs = c.headSize();
            double[] x = new double[dim];
            for (int i = 0; i < dim; i++) x[i] = m.embedding[token * dim + i];
            for (int l = 0; l < c.nLayers(); l++) {
                double[] xb = rmsNorm(x, m.attnNorm[l]);
                double[] q = matvec(m.wq[l], xb, dim), k = matvec(m.wk[l], xb, c.kvDim()), v = matvec(m.wv[l], xb, c.kvDim());
                rope(q, pos);
                rope(k, pos);
                keys[l][pos] = k;
                values[l][pos] = v;
                double[] att = new double[dim];
                for (int h = 0; h < c.nHeads(); h++) {
                    int kvh = h / c.kvMul();
                    double[] s = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int t = 0; t <= pos; t++) {
                        for (int i = 0; i < hs; i++) s[t] += q[h * hs + i] * keys[l][t][kvh * hs + i];
                        s[t] /= Math.sqrt(hs);
                        max = Math.max(max, s[t]);
                    }
                    for (int t = 0; t <= pos; t++) sum += (s[t] = Math.exp(s[t] - max));
                    for (int t = 0; t <= pos; t++) {
                        for (int i = 0; i < hs; i++) att[h * hs + i] += s[t] / sum * values[l][t][kvh * hs + i];
                    }
                }
                double[] o = matvec(m.wo[l], att, dim);
                for (int i = 0; i < dim; i++) x[i] += o[i];
                xb = rmsNorm(x, m.ffnNorm[l]);
                double[] g = matvec(m.w1[l], xb, c.hiddenDim()), u = matvec(m.w3[l], xb, c.hiddenDim());
                for (int i = 0; i < g.length; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                double[] d = matvec(m.w2[l], g, dim);
                for (int i = 0; i < dim; i++) x[i] += d[i];
            }
            return matvec(m.classifier, rmsNorm(x, m.finalNorm), c.vocabSize());
        }
    }
}
