package io.qbridge.emulator;

import io.qbridge.compute.Parallel;
import io.qbridge.format.IntGroupFormat;

/**
 * The Ax-BxP datapath of one layer ({@code docs/emulator.md} §9): the FxP8 baseline (INT8 per-token activations of §1,
 * symmetric INT8 group weights {@code rtn-w8g<g>}) with every multiply replaced by {@link AxBxp#product}; the block
 * sums, scales, fp64 fold and output rule are §3's. Written for correctness (scalar), not speed.
 */
public final class AxBxpKernel {
    private final DecodedWeights d;
    private final AxBxp.Config config;

    public AxBxpKernel(DecodedWeights d, AxBxp.Config config) {
        if (!(d.format() instanceof IntGroupFormat g) || g.bits() != 8 || !g.symmetric())
            throw new IllegalArgumentException("Ax-BxP runs on 8-bit symmetric weights (rtn-w8g<g>), got " + d.format().id());
        this.d = d;
        this.config = config;
    }

    public AxBxp.Config config() {
        return config;
    }

    /** y[rows][N] from INT8 codes {@code q[rows][K]} and per-token scales {@code xs} (ActivationQuantizer). */
    public void compute(int[] q, float[] xs, float[] bias, int rows, float[] y) {
        int n = d.n(), k = d.k(), bs = d.blockSize(), nb = d.blocks();
        long[] w = d.values();
        double[] scale = d.scale();
        Parallel.forRange(rows, 1, (from, to) -> {
            for (int r = from; r < to; r++)
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int b = 0; b < nb; b++) {
                        int acc = 0; // |product| <= 127 * 127, as FxP8: the same int32 block accumulator (§4)
                        for (int c = b * bs; c < Math.min(k, (b + 1) * bs); c++) acc += AxBxp.product(q[r * k + c], (int) w[c * n + j], config);
                        sum += (double) acc * scale[b * n + j];
                    }
                    y[r * n + j] = Datapath.finish(sum, xs[r], bias == null ? 0f : bias[j], bias != null);
                }
        });
    }
}
