package io.qbridge.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class VectorOpsTest {
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
