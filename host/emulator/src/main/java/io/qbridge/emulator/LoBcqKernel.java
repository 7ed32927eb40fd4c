package io.qbridge.emulator;

import io.qbridge.compute.Parallel;
import io.qbridge.format.LoBcqCodebooks;
import io.qbridge.format.LoBcqFormat;

/**
 * The W4A4 look-up datapath of one resident LO-BCQ layer ({@code docs/emulator.md} §8b). For token m and output n:
 * <pre>
 *   wq = CB[selW][idxW], aq = CB[selA][idxA]                 codebook look-ups, INT6 (|.| &lt;= 31)
 *   P_A = sum_{c in array} wq * aq                           exact, |P_A| &lt;= 961 L_A
 *   Q_A = P_A * (sigW * sigA)                                sigW * sigA &lt;= 225
 *   ACC += Q_A &lt;&lt; (exW + exA + 18)                           int64, the shift in [0, 28]; nothing rounds
 *   y = fp32(fp32(fp32((float) ACC * 2^-18) * gW[n]) * gA[m])  then fp32(y + bias[n])
 * </pre>
 * An array whose weight or activation scale is 0 contributes 0 and is skipped. The weights' look-up is done once at
 * load (the decode stage: a ROM read per weight gives the same integer every run); the activations' per run.
 */
public final class LoBcqKernel {
    /** The fixed-point offset that makes every array's shift non-negative: exW + exA >= -18. */
    public static final int SHIFT_BIAS = 18;

    private final LoBcqWeights w;
    private final LoBcqFormat f;
    /** [K][N] weight entries after the look-up. */
    private final int[] wT;

    public LoBcqKernel(LoBcqWeights w) {
        this.w = w;
        this.f = w.format();
        int n = w.n(), k = w.k();
        // docs/emulator.md §8b: |Q_A| <= maxEntry^2 * L_A * 15 * 15, shifted by at most 28, summed over K / L_A arrays
        long maxEntry = LoBcqCodebooks.maxEntry(f.entryBits());
        double worst = (double) maxEntry * maxEntry * f.arrayScalars() * 225 * Math.scalb(1.0, 28) * (k / f.arrayScalars());
        if (worst >= 0x1p63)
            throw new IllegalArgumentException(f.id() + " with K=" + k + ": the worst-case accumulator (" + worst + ") does not fit the int64 of docs/emulator.md §8b");
        encoder = new io.qbridge.format.LoBcqEncoder(f, w.table());
        wT = new int[k * n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) wT[c * n + r] = w.entry(r, c);
    }

    private final io.qbridge.format.LoBcqEncoder encoder;

    /** The activation encoder with this layer's codebooks (the weights' table: one shared table). */
    public io.qbridge.format.LoBcqEncoder encoder() {
        return encoder;
    }

    public LoBcqWeights weights() {
        return w;
    }

    /** y[rows][N] from encoded activations (see the class comment). */
    public void compute(LoBcqActivations act, float[] bias, int rows, float[] y) {
        int n = w.n(), k = w.k(), la = f.arrayScalars(), na = k / la, lb = f.blockScalars(), nbA = f.blocksPerArray();
        LoBcqCodebooks cb = w.table();
        Parallel.forRange(rows, 1, (from, to) -> {
            int[] aq = new int[k];
            int[] p = new int[n];
            long[] acc = new long[n];
            for (int m = from; m < to; m++) {
                for (int c = 0; c < k; c++) aq[c] = cb.entry(act.sel()[m * na * nbA + c / lb], act.idx()[m * k + c]);
                java.util.Arrays.fill(acc, 0L);
                for (int a = 0; a < na; a++) {
                    int codeA = act.scales()[m * na + a] & 0xFF;
                    int sigA = LoBcqFormat.e4m3Significand(codeA), exA = LoBcqFormat.e4m3Exponent(codeA);
                    if (sigA == 0) continue;
                    java.util.Arrays.fill(p, 0);
                    for (int c = a * la; c < (a + 1) * la; c++) {
                        int av = aq[c];
                        if (av == 0) continue;
                        int base = c * n;
                        for (int j = 0; j < n; j++) p[j] += wT[base + j] * av;
                    }
                    for (int j = 0; j < n; j++) {
                        int sigW = w.sigW()[j * na + a];
                        if (sigW == 0) continue;
                        long q = (long) p[j] * (sigW * sigA);
                        acc[j] += q << (w.expW()[j * na + a] + exA + SHIFT_BIAS);
                    }
                }
                float gA = act.g()[m];
                for (int j = 0; j < n; j++) {
                    float v = (float) acc[j] * 0x1p-18f * w.gW()[j] * gA;
                    y[m * n + j] = bias == null ? v : v + bias[j];
                }
            }
        });
    }
}
