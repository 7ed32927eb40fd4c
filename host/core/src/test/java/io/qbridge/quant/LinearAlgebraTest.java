package io.qbridge.quant;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

import java.util.Random;

class LinearAlgebraTest {
    @Test
    void upperCholeskyOfInverse() {
        int k = 23;
        Random rnd = new Random(1);
        float[] x = new float[40 * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        HessianAccumulator acc = new HessianAccumulator(k);
        acc.add(x, 40);
        double[] h = acc.hessian();
        double[] u = h.clone();
        InverseCholesky.upperOfInverseInPlace(u, k);
        // U upper with positive diagonal, and U^T U H = I.
        for (int i = 0; i < k; i++) {
            assertTrue(u[i * k + i] > 0);
            for (int j = 0; j < i; j++) assertEquals(0.0, u[i * k + j]);
        }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int a = 0; a < k; a++) {
                    double utu = 0;
                    for (int m = 0; m < k; m++) utu += u[m * k + i] * u[m * k + a];
                    s += utu * h[a * k + j];
                }
                assertEquals(i == j ? 1 : 0, s, 1e-9);
            }
    }

    /** A size where the parallel paths split work: check H (U^T (U v)) = v for random v. */
    @Test
    void upperCholeskyOfInverseLarge() {
        int k = 700;
        double[] h = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) h[i * k + j] = Math.exp(-Math.abs(i - j) / 9.0) + (i == j ? 0.5 : 0);
        double[] u = h.clone();
        InverseCholesky.upperOfInverseInPlace(u, k);
        Random rnd = new Random(3);
        double[] v = new double[k], t = new double[k], x = new double[k];
        for (int i = 0; i < k; i++) v[i] = rnd.nextGaussian();
        for (int i = 0; i < k; i++) for (int j = i; j < k; j++) t[i] += u[i * k + j] * v[j];   // U v
        for (int j = 0; j < k; j++) for (int i = 0; i <= j; i++) x[j] += u[i * k + j] * t[i]; // U^T (U v)
        for (int i = 0; i < k; i++) {
            double s = 0;
            for (int j = 0; j < k; j++) s += h[i * k + j] * x[j];
            assertEquals(v[i], s, 1e-8);
        }
    }

    @Test
    void hessianAccumulatesIncrementally() {
        int k = 5;
        float[] x = new float[6 * k];
        Random rnd = new Random(2);
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        HessianAccumulator a = new HessianAccumulator(k), b = new HessianAccumulator(k);
        a.add(x, 6);
        b.add(java.util.Arrays.copyOfRange(x, 0, 2 * k), 2);
        b.add(java.util.Arrays.copyOfRange(x, 2 * k, 6 * k), 4);
        assertEquals(6, b.rows());
        double[] ha = a.hessian(), hb = b.hessian();
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int r = 0; r < 6; r++) s += 2.0 * x[r * k + i] * x[r * k + j];
                assertEquals(s, ha[i * k + j], 1e-9);
                assertEquals(ha[i * k + j], hb[i * k + j], 1e-12);
            }
    }
}
