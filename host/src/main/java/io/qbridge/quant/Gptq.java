package io.qbridge.quant;

import io.qbridge.compute.Parallel;
import io.qbridge.format.ColumnQuantizer;
import io.qbridge.format.QuantFormat;
import io.qbridge.format.Shapes;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * GPTQ (Frantar et al.) in double precision over any {@link QuantFormat}.
 *
 * <p>Steps: dead columns (H_jj = 0) get H_jj = 1 and weight 0; optional act_order permutes columns by
 * descending diag(H); the diagonal is damped by dampPercent * mean(diag H); U = chol(H^-1) upper; then
 * each row is quantized column by column, the error (w - q) / U_jj fed back to the later columns through
 * row j of U, immediately inside a lazy batch and once per batch for the columns after it.
 *
 * <p>Rows are independent given U, so tiles of rows run in parallel. Batches are aligned to the format's
 * decision span so that the format decides each block (scale, outliers, pruned slots, FineQ encoding) from
 * fully updated weights, and the importance it uses is w^2 / U_jj^2.
 *
 * <p>act_order (our choice, as GPTQ without static groups): groups/blocks are formed along the permuted
 * order and the tensor is stored in that order together with the permutation.
 */
public final class Gptq {
    private static final int ROW_TILE = 16;

    private Gptq() {}

    public static GptqResult quantize(float[] w, int n, int k, double[] hessian, GptqConfig cfg, QuantFormat format) {
        Shapes.checkWeights(w, n, k);
        if (format == null) throw new IllegalArgumentException("format is null");
        if (cfg == null) throw new IllegalArgumentException("config is null");
        if (hessian == null || hessian.length != (long) k * k)
            throw new IllegalArgumentException("hessian must be k*k = " + (long) k * k + " values, got " + (hessian == null ? "null" : hessian.length));
        for (float v : w) if (!Float.isFinite(v)) throw new IllegalArgumentException("weights contain a non-finite value " + v);
        for (double v : hessian) if (!Double.isFinite(v)) throw new IllegalArgumentException("hessian contains a non-finite value " + v);

        boolean[] dead = new boolean[k];
        for (int j = 0; j < k; j++) dead[j] = hessian[j * k + j] == 0;
        int[] perm = cfg.actOrder()
                ? IntStream.range(0, k).boxed().sorted(Comparator.comparingDouble((Integer j) -> -hessian[j * k + j]).thenComparingInt(j -> j))
                        .mapToInt(Integer::intValue).toArray()
                : null;

        double[] u = new double[k * k];
        double mean = 0;
        for (int i = 0; i < k; i++) {
            int pi = perm == null ? i : perm[i];
            for (int j = 0; j < k; j++) u[i * k + j] = hessian[pi * k + (perm == null ? j : perm[j])];
            if (dead[pi]) u[i * k + i] = 1;
            mean += u[i * k + i];
        }
        double damp = cfg.dampPercent() * mean / k;
        for (int i = 0; i < k; i++) u[i * k + i] += damp;
        InverseCholesky.upperOfInverseInPlace(u, k);
        double[] diag = new double[k];
        for (int i = 0; i < k; i++) diag[i] = u[i * k + i];

        ColumnQuantizer q = format.columnQuantizer(n, k);
        int span = q.span();
        // A multiple of the span, never wider than the (span-rounded) layer.
        long wanted = Math.min((long) cfg.blockSize(), (long) k);
        int batch = (int) Math.max(span, (wanted + span - 1) / span * span);
        float[] deq = new float[n * k];
        double[] loss = new double[n];
        int tiles = (n + ROW_TILE - 1) / ROW_TILE;
        Parallel.forRange(tiles, 1, (tFrom, tTo) -> {
            for (int t = tFrom; t < tTo; t++) {
                int r0 = t * ROW_TILE, r1 = Math.min(n, r0 + ROW_TILE);
                runTile(w, k, r0, r1, perm, dead, u, diag, q, batch, deq, loss);
            }
        });
        double total = 0;
        for (double l : loss) total += l;
        return new GptqResult(q.finish(), perm == null ? null : perm.clone(), deq, total);
    }

    private static void runTile(float[] w, int k, int r0, int r1, int[] perm, boolean[] dead, double[] u, double[] diag,
                                ColumnQuantizer q, int batch, float[] deq, double[] loss) {
        int rows = r1 - r0;
        double[][] wt = new double[rows][k];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++) {
                int src = perm == null ? j : perm[j];
                wt[r][j] = dead[src] ? 0 : w[(r0 + r) * k + src];
            }
        double[][] err = new double[rows][batch];
        for (int i1 = 0; i1 < k; i1 += batch) {
            int i2 = Math.min(k, i1 + batch);
            for (int i = i1; i < i2; i++) {
                int io = i * k;
                double dii = diag[i];
                boolean decide = q.isDecisionPoint(i);
                for (int r = 0; r < rows; r++) {
                    double[] row = wt[r];
                    if (decide) q.prepare(r0 + r, i, row, diag);
                    double x = row[i];
                    float qv = q.quantize(r0 + r, i, x);
                    deq[(r0 + r) * k + (perm == null ? i : perm[i])] = qv;
                    double e = (x - qv) / dii;
                    loss[r0 + r] += e * e;
                    err[r][i - i1] = e;
                    for (int j = i + 1; j < i2; j++) row[j] -= e * u[io + j];
                }
            }
            // Lazy batch update: W[:, i2:] -= Err[:, batch] * U[batch, i2:].
            if (i2 < k) LazyUpdate.apply(wt, err, u, k, i1, i2 - i1, i2);
        }
    }
}
