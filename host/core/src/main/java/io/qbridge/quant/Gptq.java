package io.qbridge.quant;

import io.qbridge.compute.Parallel;
import io.qbridge.format.ColumnQuantizer;
import io.qbridge.format.QuantFormat;
import io.qbridge.format.Shapes;

import java.util.Comparator;
import java.util.function.Supplier;
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
 * <p>A quantizer that decides whole columns ({@link ColumnQuantizer#decidesWholeColumns()}, the official
 * MicroScopiQ repository's blocks along the output dimension) runs as one tile of all rows, without row
 * parallelism, and is given each column before its weights are quantized; {@link #simulate} runs such a
 * quantizer when it has no codes to give.
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
        Run r = run(w, n, k, hessian, cfg, () -> format.columnQuantizer(n, k));
        return new GptqResult(r.q.finish(), r.perm, r.deq, r.loss);
    }

    /**
     * GPTQ with a quantizer that has no codes to give (a simulated scheme such as
     * {@link io.qbridge.format.MicroScopiQOfficial}): the result's tensor is null.
     */
    public static GptqResult simulate(float[] w, int n, int k, double[] hessian, GptqConfig cfg, ColumnQuantizer quantizer) {
        Shapes.checkWeights(w, n, k);
        if (quantizer == null) throw new IllegalArgumentException("quantizer is null");
        if (quantizer.n() != n || quantizer.k() != k)
            throw new IllegalArgumentException("quantizer is for " + quantizer.n() + "x" + quantizer.k() + ", weights are " + n + "x" + k);
        Run r = run(w, n, k, hessian, cfg, () -> quantizer);
        return new GptqResult(null, r.perm, r.deq, r.loss);
    }

    private record Run(ColumnQuantizer q, int[] perm, float[] deq, double loss) {}

    private static Run run(float[] w, int n, int k, double[] hessian, GptqConfig cfg, Supplier<ColumnQuantizer> quantizer) {
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

        ColumnQuantizer q = quantizer.get();
        int span = q.span();
        // A quantizer that decides whole columns needs every row of a column at once: one tile, no row parallelism.
        int rowTile = q.decidesWholeColumns() ? n : ROW_TILE;
        // A multiple of the span, never wider than the (span-rounded) layer.
        long wanted = Math.min((long) cfg.blockSize(), (long) k);
        int batch = (int) Math.max(span, (wanted + span - 1) / span * span);
        float[] deq = new float[n * k];
        double[] loss = new double[n];
        int tiles = (n + rowTile - 1) / rowTile;
        Parallel.forRange(tiles, 1, (tFrom, tTo) -> {
            for (int t = tFrom; t < tTo; t++) {
                int r0 = t * rowTile, r1 = Math.min(n, r0 + rowTile);
                runTile(w, k, r0, r1, perm, dead, u, diag, q, batch, deq, loss);
            }
        });
        double total = 0;
        for (double l : loss) total += l;
        return new Run(q, perm == null ? null : perm.clone(), deq, total);
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
        boolean wholeColumns = q.decidesWholeColumns(); // then this tile holds every row
        double[] column = wholeColumns ? new double[rows] : null;
        for (int i1 = 0; i1 < k; i1 += batch) {
            int i2 = Math.min(k, i1 + batch);
            for (int i = i1; i < i2; i++) {
                int io = i * k;
                double dii = diag[i];
                boolean decide = q.isDecisionPoint(i);
                if (wholeColumns) {
                    for (int r = 0; r < rows; r++) column[r] = wt[r][i];
                    q.prepareColumn(i, column);
                }
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
