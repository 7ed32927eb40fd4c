package io.qbridge.emulator;

import io.qbridge.format.IntGroupFormat;
import io.qbridge.format.PackedTensor;
import java.math.BigDecimal;

/**
 * The plain reference the emulator is checked against: {@code format.dequantize(packed)} (the format
 * package's own float arithmetic), times the same INT8 activations, summed exactly (BigDecimal), then the
 * output rule of {@link Datapath#finish}. It shares nothing with the emulator's decode or kernels.
 */
final class ExactReference {
    /** Outputs and, per output, the sum of |w * q| (for error bounds). */
    record Result(float[] y, double[] absSum, double[] exactSum) {}

    private ExactReference() {}

    static Result run(PackedTensor p, int[] q, float[] xs, int rows, float[] bias) {
        int k = p.k();
        return run(p, (r, c) -> q[r * k + c], r -> xs[r], rows, bias);
    }

    /**
     * The same with MX-INT8 activations (docs/emulator.md §1b): each activation is its code times
     * 2^(X - 6) of its block, exact in double, the products exact too (24-bit x 8-bit significands,
     * exponents far inside the double range); the output rule with activation scale 1.
     */
    static Result runMx(PackedTensor p, int[] q, int[] exps, int rows, float[] bias) {
        int k = p.k(), nba = MxActivationQuantizer.blocks(k);
        return run(p, (r, c) -> q[r * k + c] * MxActivationQuantizer.step(exps[r * nba + c / MxActivationQuantizer.BLOCK]), r -> 1f, rows, bias);
    }

    /** Activation value of token r, column c (exact in double). */
    private interface Activation {
        double at(int r, int c);
    }

    /** The activation scale applied by the output rule to token r. */
    private interface RowScale {
        float at(int r);
    }

    private static Result run(PackedTensor p, Activation x, RowScale xs, int rows, float[] bias) {
        float[] w = p.format().dequantize(p);
        int n = p.n(), k = p.k();
        float[] y = new float[rows * n];
        double[] abs = new double[rows * n], exact = new double[rows * n];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) {
                BigDecimal s = BigDecimal.ZERO;
                double a = 0;
                boolean nan = false;
                for (int c = 0; c < k; c++) {
                    double prod = (double) w[j * k + c] * x.at(r, c); // exact: 24-bit x 8-bit significands
                    if (Double.isNaN(prod)) { nan = true; break; }
                    if (prod != 0) s = s.add(new BigDecimal(prod));
                    a += Math.abs(prod);
                }
                double sum = nan ? Double.NaN : s.doubleValue();
                exact[r * n + j] = sum;
                abs[r * n + j] = a;
                y[r * n + j] = Datapath.finish(sum, xs.at(r), bias == null ? 0f : bias[j], bias != null);
            }
        return new Result(y, abs, exact);
    }

    /** True where the hardware arithmetic itself rounds (asymmetric INT: one fp64 rounding of s (acc - z sum q)). */
    static boolean hardwareRounds(PackedTensor p) {
        return p.format() instanceof IntGroupFormat g && !g.symmetric();
    }

    /**
     * The documented bound on |y_emulator - y_reference| (docs/emulator.md §5): the cross-block fp64 sum
     * errs by at most (NB - 1) 2^-53 sum|p_b|; asymmetric INT adds the reference's own per-weight fp32
     * roundings, at most 2^-23 (1 + 2^-20) per |w q|, and the hardware's one fp64 rounding per block; the
     * output rule then adds at most one fp32 ulp per rounding step (scale, bias).
     */
    static double bound(int blocks, double absSum, float xs, float yRef, float bias, boolean rounds) {
        double rel = Math.max(0, blocks - 1) * 0x1p-53 * 1.001 + (rounds ? 0x1p-23 * (1 + 0x1p-20) + blocks * 0x1p-53 : 0);
        double sumErr = rel * absSum * xs;
        float pre = Math.abs(yRef - bias) + (float) sumErr;
        return sumErr * (1 + 0x1p-50) + Math.ulp(pre) + Math.ulp(Math.abs(yRef) + (float) sumErr + Math.ulp(pre));
    }
}
