package io.qbridge.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class VectorOpsTest {
    @Test
    void dotColumnsRoundsEachColumnAsDotDoes() {
        java.util.Random rnd = new java.util.Random(3);
        int lanes = VectorOps.lanes();
        // a multiple of the lanes (a head of 64), one with a tail, one shorter than a vector
        for (int n : new int[] {64, 4 * lanes + 5, lanes - 1, 1}) {
            for (int stride : new int[] {lanes + 3, lanes}) { // the decoder's contiguous tiles, and a padded layout
                int cols = 3 * lanes, blockStride = n * stride + 5;
                float[] a = new float[n + 2], b = new float[7 + (cols / lanes) * blockStride], out = new float[cols + 4];
                for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 3));
                for (int i = 0; i < b.length; i++) b[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 3));
                b[7] = -0f;
                float[] scratch = new float[lanes * lanes + 9];
                VectorOps.dotColumns(a, 2, b, 7, stride, blockStride, n, cols, out, 4, scratch, 9);
                float[] column = new float[n];
                for (int t = 0; t < cols; t++) {
                    for (int i = 0; i < n; i++) column[i] = b[7 + (t / lanes) * blockStride + i * stride + t % lanes];
                    float want = VectorOps.dot(a, 2, column, 0, n);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(out[4 + t]), "n " + n + " stride " + stride + " column " + t);
                }
            }
        }
    }

    @Test
    void weightedRowsRoundAsAxpyPerRowDoes() {
        java.util.Random rnd = new java.util.Random(5);
        int lanes = VectorOps.lanes();
        // four vectors and more (a head of 64 with AVX-512 or AVX2), one vector and a tail, a tail alone
        for (int n : new int[] {64, 5 * lanes + 3, lanes - 1}) {
            int count = 37, stride = n + 11;
            float[] w = new float[count + 3], x = new float[2 + count * stride], want = new float[n + 1], got = new float[n + 1];
            for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
            for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 3));
            for (int t = 0; t < count; t++) VectorOps.axpy(w[3 + t], x, 2 + t * stride, want, 1, n);
            VectorOps.weightedRows(w, 3, count, x, 2, stride, n, got, 1);
            for (int i = 1; i <= n; i++) assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "n " + n + " element " + i);
        }
    }

    @Test
    void erfMatchesKnownValues() {
        // erf values from Abramowitz & Stegun table 7.1 / high-precision references
        assertEquals(0.0, Erf.erf(0.0), 0.0);
        assertEquals(0.5204998778130465, Erf.erf(0.5), 1e-15);
        assertEquals(0.8427007929497149, Erf.erf(1.0), 1e-15);
        assertEquals(-0.9953222650189527, Erf.erf(-2.0), 1e-15);
        assertEquals(0.9999999845827421, Erf.erf(4.0), 1e-15);
        assertEquals(1.0, Erf.erf(7.0), 0.0);
    }

    @Test
    void vectorGeluMatchesDoublePrecisionErfForm() {
        int n = 4099; // odd length exercises the scalar tail
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -12f + 24f * i / (n - 1);
        float[] y = x.clone();
        VectorOps.gelu(y, 0, n);
        for (int i = 0; i < n; i++) {
            double v = x[i];
            double ref = 0.5 * v * (1 + Erf.erf(v / Math.sqrt(2)));
            assertEquals(ref, y[i], 2e-6 * Math.max(1, Math.abs(v)), "gelu(" + v + ")");
        }
    }

    @Test
    void expIsAccurateAndVectorAndScalarAgreeBitForBit() {
        var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        int n = species.length() * 4000;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -90f + 180f * i / (n - 1);
        float[] y = new float[n];
        for (int i = 0; i < n; i += species.length()) {
            VectorOps.exp(jdk.incubator.vector.FloatVector.fromArray(species, x, i)).intoArray(y, i);
        }
        for (int i = 0; i < n; i++) {
            float scalar = VectorOps.exp(x[i]);
            assertEquals(Float.floatToIntBits(scalar), Float.floatToIntBits(y[i]), "lane and scalar differ at x=" + x[i]);
            if (x[i] > -87f && x[i] < 88f) {
                double ref = Math.exp(x[i]);
                assertEquals(ref, scalar, 3e-7 * ref, "exp(" + x[i] + ")");
            }
        }
    }

    @Test
    void hsumIsTheSameAsAFixedOrderSum() {
        var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        float[] v = new float[species.length()];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.pow(-1.7, i) * 1e-3f * (i + 1);
        float sum = VectorOps.hsum(jdk.incubator.vector.FloatVector.fromArray(species, v, 0));
        // the documented tree: fold halves until one lane is left
        float[] t = v.clone();
        for (int half = t.length / 2; half >= 1; half /= 2) {
            float[] next = new float[t.length];
            for (int i = 0; i < t.length; i++) next[i] = t[i] + t[(i + half) % t.length];
            t = next;
        }
        assertEquals(Float.floatToIntBits(t[0]), Float.floatToIntBits(sum));
    }

    @Test
    void layerNormHasZeroMeanUnitVariance() {
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
        float[] g = new float[20], b = new float[20];
        java.util.Arrays.fill(g, 1f);
        VectorOps.layerNorm(x, 0, 20, g, b, 0f);
        double mean = 0, var = 0;
        for (float v : x) mean += v;
        mean /= 20;
        for (float v : x) var += (v - mean) * (v - mean);
        assertEquals(0, mean, 1e-6);
        assertEquals(1, var / 20, 1e-5);
        assertEquals(-1.6475090, x[0], 1e-6); // (1 - 10.5) / sqrt(33.25)
    }
}
