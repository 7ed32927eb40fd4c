package io.qbridge.quant;

import io.qbridge.compute.VectorOps;

import io.qbridge.compute.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The upper Cholesky factor U of H^-1 (H^-1 = U^T U), which GPTQ uses for its error feedback, computed
 * without forming H^-1: factor H = R R^T with R upper triangular (a Cholesky factorization run from the
 * last row up), then U = R^-1, since H^-1 = R^-T R^-1 = U^T U and R^-1 is upper triangular with a positive
 * diagonal, hence the unique Cholesky factor. Two O(k^3/6) passes in double precision, in place.
 */
final class InverseCholesky {
    private InverseCholesky() {}

    /** Overwrites {@code h} (k*k, symmetric, only the upper triangle read) with U; the lower triangle becomes 0. */
    static void upperOfInverseInPlace(double[] h, int k) {
        reverseCholesky(h, k);
        invertUpper(h, k);
        for (int i = 1; i < k; i++) java.util.Arrays.fill(h, i * k, i * k + i, 0.0);
    }

    /** H = R R^T, R upper; R overwrites the upper triangle of h. */
    private static void reverseCholesky(double[] a, int k) {
        for (int j = k - 1; j >= 0; j--) {
            final int jj = j;
            int jo = j * k;
            double d = a[jo + j] - dot(a, jo + j + 1, a, jo + j + 1, k - j - 1);
            if (!(d > 0)) throw new IllegalArgumentException("Hessian is not positive definite after damping (pivot " + d + " at column " + j + "); increase dampPercent");
            double rjj = Math.sqrt(d);
            a[jo + j] = rjj;
            Parallel.forRange(j, Math.max(1, 32768 / Math.max(1, k - j)), (from, to) -> {
                for (int i = from; i < to; i++) {
                    int io = i * k;
                    a[io + jj] = (a[io + jj] - dot(a, io + jj + 1, a, jo + jj + 1, k - jj - 1)) / rjj;
                }
            });
        }
    }

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

    /** x[xo..xo+len) . y[yo..yo+len) with vector partial sums (the JIT does not vectorize a double reduction itself). */
    static double dot(double[] x, int xo, double[] y, int yo, int len) {
        int lanes = S.length(), m = 0;
        DoubleVector s0 = DoubleVector.zero(S), s1 = DoubleVector.zero(S);
        for (; m + 2 * lanes <= len; m += 2 * lanes) {
            s0 = DoubleVector.fromArray(S, x, xo + m).fma(DoubleVector.fromArray(S, y, yo + m), s0);
            s1 = DoubleVector.fromArray(S, x, xo + m + lanes).fma(DoubleVector.fromArray(S, y, yo + m + lanes), s1);
        }
        double s = VectorOps.hsum(s0.add(s1)); // fixed order: GPTQ results must not depend on the JIT tier
        for (; m < len; m++) s = Math.fma(x[xo + m], y[yo + m], s);
        return s;
    }

    /** Replaces the upper triangular R (upper triangle of a) by R^-1, row by row from the bottom. */
    private static void invertUpper(double[] a, int k) {
        double[] t = new double[k];
        for (int i = k - 1; i >= 0; i--) {
            final int ii = i;
            int io = i * k;
            double inv = 1.0 / a[io + i];
            // t[j] = sum_{m=i+1..j} R[i][m] * U[m][j] for j > i; rows m > i already hold U.
            Parallel.forRange(k - i - 1, 512, (from, to) -> {
                int ja = ii + 1 + from, jb = ii + 1 + to;
                java.util.Arrays.fill(t, ja, jb, 0.0);
                for (int m = ii + 1; m < jb; m++) {
                    double r = a[ii * k + m];
                    if (r == 0) continue;
                    int mo = m * k;
                    for (int j = Math.max(m, ja); j < jb; j++) t[j] += r * a[mo + j];
                }
            });
            a[io + i] = inv;
            for (int j = i + 1; j < k; j++) a[io + j] = -t[j] * inv;
        }
    }
}
