package io.qbridge.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MatMulTest {
    /** Both kernels against a plain double-precision triple loop, on shapes that hit every tail path. */
    @ParameterizedTest
    @CsvSource({"1,1,1", "3,5,7", "4,48,48", "5,384,384", "13,384,1536", "64,1536,384", "7,17,100", "130,33,49"})
    void bothLayoutsMatchReference(int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(m * 31L + k * 7L + n);
        float[] x = new float[m * k], wNK = new float[n * k], wKN = new float[k * n];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int j = 0; j < n; j++) {
            for (int kk = 0; kk < k; kk++) {
                float v = (float) rnd.nextGaussian();
                wNK[j * k + kk] = v;
                wKN[kk * n + j] = v;
            }
        }
        float[] y1 = new float[m * n], y2 = new float[m * n];
        MatMul.inOut(x, m, k, wKN, n, y1);
        MatMul.outIn(x, m, k, wNK, 0, n, y2);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double ref = 0, mag = 0;
                for (int kk = 0; kk < k; kk++) {
                    ref += (double) x[i * k + kk] * wNK[j * k + kk];
                    mag += Math.abs((double) x[i * k + kk] * wNK[j * k + kk]);
                }
                double tol = 1e-6 * mag + 1e-6;
                assertEquals(ref, y1[i * n + j], tol, "inOut at " + i + "," + j);
                assertEquals(ref, y2[i * n + j], tol, "outIn at " + i + "," + j);
            }
        }
    }

    /**
     * Every output of {@code inOut} is one FMA chain along K in order, from 0, bit for bit, whichever tile computed it
     * (6 rows x 4 vectors, single rows of 4 vectors or 1 as in attention's narrow products, scalar columns) and across the K
     * blocks: so a kernel may be replaced by another that keeps the chain, and no result changes.
     */
    @ParameterizedTest
    @CsvSource({"6,32,64", "7,32,16", "13,64,32", "12,33,48", "61,57,64", "5,300,80", "1,17,3", "20,512,100", "64,32,57"})
    void inOutIsTheFmaChainBitForBit(int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(m * 17L + k * 3L + n);
        float[] x = new float[m * k], w = new float[k * n], y = new float[m * n];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        MatMul.inOut(x, m, k, w, n, y);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float want = 0f;
                for (int kk = 0; kk < k; kk++) want = Math.fma(x[i * k + kk], w[kk * n + j], want);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(y[i * n + j]), "inOut at " + i + "," + j);
            }
        }
    }

    /**
     * Every output of {@code outIn} is {@link VectorOps#dot} of its activation row and weight row, bit for bit,
     * whichever group of weight rows (8, 4 or 1) computed it and whatever the offset: the decoder's one-token path
     * and its batched prompt path (more rows, other thread splits) then round alike.
     */
    @ParameterizedTest
    @CsvSource({"1,512,1376", "1,17,13", "2,512,31", "8,33,100", "9,48,23", "1,1376,512"})
    void outInIsTheRowDotProductBitForBit(int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(m * 13L + k * 5L + n);
        int off = 3;
        float[] x = new float[m * k], w = new float[off + n * k], y = new float[m * n];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        MatMul.outIn(x, m, k, w, off, n, y);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float want = VectorOps.dot(x, i * k, w, off + j * k, k);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(y[i * n + j]), "outIn at " + i + "," + j);
            }
        }
    }
}
