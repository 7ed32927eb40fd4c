package io.qbridge.quant;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GPTQ's lazy batch update W[rows, from:] -= Err[rows, batch] * U[batch, from:], the O(N K^2) part of the
 * algorithm. Register-blocked over columns: each output vector is loaded and stored once per batch and
 * accumulates all batch rows of U with fused multiply-adds, instead of being rewritten once per batch row.
 * Columns go in panels so the U panel stays in cache while every row of the tile streams over it.
 */
final class LazyUpdate {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int PANEL = 256;

    private LazyUpdate() {}

    /**
     * @param w    tile rows, each of length k
     * @param err  per row, the scaled errors of batch columns [i1, i1 + nb)
     * @param u    k*k row-major upper factor
     */
    static void apply(double[][] w, double[][] err, double[] u, int k, int i1, int nb, int from) {
        int lanes = S.length();
        for (int p0 = from; p0 < k; p0 += PANEL) {
            int p1 = Math.min(k, p0 + PANEL);
            for (int r = 0; r < w.length; r++) {
                double[] row = w[r], e = err[r];
                int j = p0;
                for (; j + 2 * lanes <= p1; j += 2 * lanes) {
                    DoubleVector a0 = DoubleVector.fromArray(S, row, j);
                    DoubleVector a1 = DoubleVector.fromArray(S, row, j + lanes);
                    for (int i = 0; i < nb; i++) {
                        double ei = e[i];
                        if (ei == 0) continue;
                        DoubleVector ne = DoubleVector.broadcast(S, -ei);
                        int uo = (i1 + i) * k + j;
                        a0 = DoubleVector.fromArray(S, u, uo).fma(ne, a0);
                        a1 = DoubleVector.fromArray(S, u, uo + lanes).fma(ne, a1);
                    }
                    a0.intoArray(row, j);
                    a1.intoArray(row, j + lanes);
                }
                for (; j < p1; j++) {
                    double a = row[j];
                    for (int i = 0; i < nb; i++) a = Math.fma(-e[i], u[(i1 + i) * k + j], a);
                    row[j] = a;
                }
            }
        }
    }
}
