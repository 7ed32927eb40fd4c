package io.qbridge.emulator;

import io.qbridge.compute.Parallel;
import io.qbridge.format.IntGroupFormat;

/**
 * The Ax-BxP datapath of one layer ({@code docs/emulator.md} §9): the FxP8 baseline (INT8 per-token activations of §1,
 * symmetric INT8 group weights {@code rtn-w8g<g>}) with every multiply replaced by {@link AxBxp#product}; the block
 * sums, scales, fp64 fold and output rule are §3's.
 *
 * <p>How the host computes the exact block sums is a speed choice: the product is split by activation block
 * ({@link AxBxp#activationPart} times {@link AxBxp#weightPart}, an integer identity), so a group's sum is L_x plain
 * integer dot products of parts (each |part| <= 127, stored as bytes: the weight parts are formed once at load). The
 * integers are the same as summing {@code AxBxp.product} term by term (exact int32: at most L_x·g·127² in magnitude,
 * checked at load), so the result is the definition's to the bit; the tests compare with a reference of the rule.
 */
public final class AxBxpKernel {
    private final int n, k, bs, nb;
    private final double[] scale;
    private final AxBxp.Config config;
    /** parts[a][c*n + j]: {@code AxBxp.weightPart(w[c][j], a, config)}. */
    private final byte[][] parts;

    public AxBxpKernel(DecodedWeights d, AxBxp.Config config) {
        if (!(d.format() instanceof IntGroupFormat g) || g.bits() != 8 || !g.symmetric())
            throw new IllegalArgumentException("Ax-BxP runs on 8-bit symmetric weights (rtn-w8g<g>), got " + d.format().id());
        this.n = d.n();
        this.k = d.k();
        this.bs = d.blockSize();
        this.nb = d.blocks();
        this.scale = d.scale();
        this.config = config;
        int lx = config.x().kept();
        if ((long) lx * bs * 127 * 127 > Integer.MAX_VALUE)
            throw new IllegalArgumentException("Ax-BxP group of " + bs + " columns can exceed the int32 block accumulator");
        long[] w = d.values();
        parts = new byte[lx][k * n];
        // one table per code: the same integer for every weight with that code
        int[][] table = new int[lx][255];
        for (int a = 0; a < lx; a++) for (int q = -127; q <= 127; q++) table[a][q + 127] = AxBxp.weightPart(q, a, config);
        for (long v : w)
            if (v < -127 || v > 127) throw new IllegalArgumentException("Ax-BxP takes weight codes in [-127, 127] (sign-magnitude, 7 bits), got " + v);
        for (int a = 0; a < lx; a++) {
            byte[] p = parts[a];
            int[] t = table[a];
            for (int i = 0; i < p.length; i++) p[i] = (byte) t[(int) w[i] + 127];
        }
    }

    public AxBxp.Config config() {
        return config;
    }

    /** y[rows][N] from INT8 codes {@code q[rows][K]} and per-token scales {@code xs} (ActivationQuantizer). */
    public void compute(int[] q, float[] xs, float[] bias, int rows, float[] y) {
        int lx = config.x().kept();
        int[][] xtable = new int[lx][255];
        for (int a = 0; a < lx; a++) for (int v = -127; v <= 127; v++) xtable[a][v + 127] = AxBxp.activationPart(v, a, config);
        Parallel.forRange(rows, 1, (from, to) -> {
            int[] acc = new int[n];
            double[] sum = new double[n];
            int[] xp = new int[lx * k];
            for (int r = from; r < to; r++) {
                for (int a = 0; a < lx; a++) for (int c = 0; c < k; c++) xp[a * k + c] = xtable[a][q[r * k + c] + 127];
                java.util.Arrays.fill(sum, 0);
                for (int b = 0; b < nb; b++) {
                    java.util.Arrays.fill(acc, 0); // the int32 block accumulator of §4
                    for (int c = b * bs; c < Math.min(k, (b + 1) * bs); c++)
                        for (int a = 0; a < lx; a++) {
                            int xa = xp[a * k + c];
                            if (xa == 0) continue;
                            byte[] p = parts[a];
                            int base = c * n;
                            for (int j = 0; j < n; j++) acc[j] += xa * p[base + j];
                        }
                    for (int j = 0; j < n; j++) sum[j] += (double) acc[j] * scale[b * n + j]; // fp64 fold in group order
                }
                for (int j = 0; j < n; j++) y[r * n + j] = Datapath.finish(sum[j], xs[r], bias == null ? 0f : bias[j], bias != null);
            }
        });
    }
}
