package io.qbridge.quant;

import io.qbridge.compute.Parallel;

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
            double d = a[jo + j];
            for (int m = j + 1; m < k; m++) d -= a[jo + m] * a[jo + m];
            if (!(d > 0)) throw new IllegalArgumentException("Hessian is not positive definite after damping (pivot " + d + " at column " + j + "); increase dampPercent");
            double rjj = Math.sqrt(d);
            a[jo + j] = rjj;
            Parallel.forRange(j, Math.max(1, 32768 / Math.max(1, k - j)), (from, to) -> {
                for (int i = from; i < to; i++) {
                    int io = i * k;
                    double s = a[io + jj];
                    for (int m = jj + 1; m < k; m++) s -= a[io + m] * a[jo + m];
                    a[io + jj] = s / rjj;
                }
            });
        }
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
