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
