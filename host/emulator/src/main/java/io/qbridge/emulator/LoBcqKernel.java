package io.qbridge.emulator;

import io.qbridge.compute.Parallel;
import io.qbridge.format.LoBcqCodebooks;
import io.qbridge.format.LoBcqFormat;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
    /** Half of {@link #SHIFT_BIAS}: each operand's exponent is biased by it, so both are in [0, 14]. */
    private static final int HALF_BIAS = SHIFT_BIAS / 2;

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Long> LONGS = VectorSpecies.of(long.class, FLOATS.vectorShape());
    /** Floats of one long vector's lane count, for the exact float-to-long conversion. */
    private static final VectorSpecies<Float> FLOATS_PER_LONGS = VectorSpecies.of(float.class, jdk.incubator.vector.VectorShape.forBitSize(LONGS.vectorBitSize() / 2));
    private static final int FL = FLOATS.length(), LL = LONGS.length();
    /** Tokens and outputs (in vectors) of one register tile: 6 x 4 accumulators, the shape of MatMul's FP32 kernel. */
    private static final int TM = 6, TV = 4, TN = TV * FL;

    private final LoBcqWeights w;
    private final LoBcqFormat f;
    private final int na;
    /** Outputs rounded up to whole tiles; the padding columns hold zero weights and are never written out. */
    private final int nPad;
    /** [K][nPad] the weight look-up CB[selW][idxW], as an FP32 integer (|.| &lt;= 127). */
    private final float[] wT;
    /** [arrays][nPad] sigW &lt;&lt; (exW + 9): the weight array's scale times 2^9 (0 for a zero array or padding). */
    private final long[] mulW;

    public LoBcqKernel(LoBcqWeights w) {
        this.w = w;
        this.f = w.format();
        int n = w.n(), k = w.k();
        na = w.sigW().length / n;
        // docs/emulator.md §8b: |Q_A| <= maxEntry^2 * L_A * 15 * 15, shifted by at most 28, summed over the arrays
        long maxEntry = LoBcqCodebooks.maxEntry(f.entryBits());
        double worst = (double) maxEntry * maxEntry * f.arrayScalars() * 225 * Math.scalb(1.0, 28) * na;
        if (worst >= 0x1p63)
            throw new IllegalArgumentException(f.id() + " with K=" + k + ": the worst-case accumulator (" + worst + ") does not fit the int64 of docs/emulator.md §8b");
        // the array sum is accumulated in FP32, exact while every partial sum is an integer below 2^24
        if (maxEntry * maxEntry * f.arrayScalars() >= 1L << 24)
            throw new IllegalArgumentException(f.id() + ": an array sum of up to " + maxEntry * maxEntry * f.arrayScalars()
                    + " (maxEntry^2 * L_A) is past 2^24, the exact integers of the FP32 array adder (docs/emulator.md §8b)");
        encoder = new io.qbridge.format.LoBcqEncoder(f, w.table());
        nPad = (n + TN - 1) / TN * TN;
        wT = new float[k * nPad];
        mulW = new long[na * nPad];
        int la = f.arrayScalars();
        for (int r = 0; r < n; r++)
            for (int a = 0; a < na; a++) {
                long sig = w.sigW()[r * na + a];
                mulW[a * nPad + r] = sig << (w.expW()[r * na + a] + HALF_BIAS);
                for (int c = a * la; c < Math.min(k, (a + 1) * la); c++) wT[c * nPad + r] = w.entry(r, c);
            }
    }

    private final io.qbridge.format.LoBcqEncoder encoder;

    /** The activation encoder with this layer's codebooks (the weights' table: one shared table). */
    public io.qbridge.format.LoBcqEncoder encoder() {
        return encoder;
    }

    public LoBcqWeights weights() {
        return w;
    }

    /**
     * y[rows][N] from encoded activations (see the class comment). How, exactly: the array sum P_A of integer
     * products is accumulated in FP32 with fused multiply-adds, exact because every partial sum is an integer of
     * magnitude at most maxEntry^2 * L_A &lt; 2^24 (checked at load); it is converted to int64 and its term is
     * {@code P_A * (sigW << (exW + 9)) * (sigA << (exA + 9))} = {@code Q_A << (exW + exA + 18)}, no partial product
     * larger than the term itself. Tiles of 6 tokens x 4 vectors of outputs keep the array sums in registers;
     * padding tokens have zero entries and a zero multiplier.
     */
    public void compute(LoBcqActivations act, float[] bias, int rows, float[] y) {
        int n = w.n(), k = w.k(), la = f.arrayScalars(), lb = f.blockScalars(), nbA = f.blocksPerArray();
        LoBcqCodebooks cb = w.table();
        int tiles = (rows + TM - 1) / TM;
        Parallel.forRange(tiles, 1, (from, to) -> {
            float[] aq = new float[TM * k];
            long[] mulA = new long[TM * na];
            long[] acc = new long[TM * TN];
            float[] sums = new float[TM * TN];
            for (int tile = from; tile < to; tile++) {
                int m0 = tile * TM;
                java.util.Arrays.fill(aq, 0f);
                java.util.Arrays.fill(mulA, 0L);
                int tm = Math.min(TM, rows - m0); // one exit for the token loops (see Datapath.finishTile)
                for (int t = 0; t < tm; t++) {
                    int m = m0 + t;
                    for (int c = 0; c < k; c++) aq[t * k + c] = cb.entry(act.sel()[m * na * nbA + (c / la) * nbA + (c % la) / lb], act.idx()[m * k + c]);
                    for (int a = 0; a < na; a++) {
                        int code = act.scales()[m * na + a] & 0xFF;
                        mulA[t * na + a] = (long) LoBcqFormat.e4m3Significand(code) << (LoBcqFormat.e4m3Exponent(code) + HALF_BIAS);
                    }
                }
                for (int j0 = 0; j0 < nPad; j0 += TN) {
                    java.util.Arrays.fill(acc, 0L);
                    for (int a = 0; a < na; a++) tile(aq, k, a * la, Math.min(k, (a + 1) * la), j0, a, mulA, acc, sums);
                    for (int t = 0; t < tm; t++) {
                        int m = m0 + t;
                        float gA = act.g()[m];
                        for (int j = j0; j < Math.min(n, j0 + TN); j++) {
                            float v = (float) acc[t * TN + j - j0] * 0x1p-18f * w.gW()[j] * gA;
                            y[m * n + j] = bias == null ? v : v + bias[j];
                        }
                    }
                }
            }
        });
    }

    /** One array [c0, c1) of one tile: the exact array sums of 6 tokens x TN outputs, then their int64 terms into acc. */
    private void tile(float[] aq, int k, int c0, int c1, int j0, int a, long[] mulA, long[] acc, float[] sums) {
        FloatVector p00 = FloatVector.zero(FLOATS), p01 = p00, p02 = p00, p03 = p00, p10 = p00, p11 = p00, p12 = p00, p13 = p00;
        FloatVector p20 = p00, p21 = p00, p22 = p00, p23 = p00, p30 = p00, p31 = p00, p32 = p00, p33 = p00;
        FloatVector p40 = p00, p41 = p00, p42 = p00, p43 = p00, p50 = p00, p51 = p00, p52 = p00, p53 = p00;
        for (int c = c0; c < c1; c++) {
            int o = c * nPad + j0;
            FloatVector w0 = FloatVector.fromArray(FLOATS, wT, o), w1 = FloatVector.fromArray(FLOATS, wT, o + FL);
            FloatVector w2 = FloatVector.fromArray(FLOATS, wT, o + 2 * FL), w3 = FloatVector.fromArray(FLOATS, wT, o + 3 * FL);
            FloatVector x = FloatVector.broadcast(FLOATS, aq[c]);
            p00 = w0.fma(x, p00); p01 = w1.fma(x, p01); p02 = w2.fma(x, p02); p03 = w3.fma(x, p03);
            x = FloatVector.broadcast(FLOATS, aq[k + c]);
            p10 = w0.fma(x, p10); p11 = w1.fma(x, p11); p12 = w2.fma(x, p12); p13 = w3.fma(x, p13);
            x = FloatVector.broadcast(FLOATS, aq[2 * k + c]);
            p20 = w0.fma(x, p20); p21 = w1.fma(x, p21); p22 = w2.fma(x, p22); p23 = w3.fma(x, p23);
            x = FloatVector.broadcast(FLOATS, aq[3 * k + c]);
            p30 = w0.fma(x, p30); p31 = w1.fma(x, p31); p32 = w2.fma(x, p32); p33 = w3.fma(x, p33);
            x = FloatVector.broadcast(FLOATS, aq[4 * k + c]);
            p40 = w0.fma(x, p40); p41 = w1.fma(x, p41); p42 = w2.fma(x, p42); p43 = w3.fma(x, p43);
            x = FloatVector.broadcast(FLOATS, aq[5 * k + c]);
            p50 = w0.fma(x, p50); p51 = w1.fma(x, p51); p52 = w2.fma(x, p52); p53 = w3.fma(x, p53);
        }
        // the sums leave the registers through an array: a vector passed to a call C2 does not inline would be boxed
        p00.intoArray(sums, 0); p01.intoArray(sums, FL); p02.intoArray(sums, 2 * FL); p03.intoArray(sums, 3 * FL);
        p10.intoArray(sums, TN); p11.intoArray(sums, TN + FL); p12.intoArray(sums, TN + 2 * FL); p13.intoArray(sums, TN + 3 * FL);
        p20.intoArray(sums, 2 * TN); p21.intoArray(sums, 2 * TN + FL); p22.intoArray(sums, 2 * TN + 2 * FL); p23.intoArray(sums, 2 * TN + 3 * FL);
        p30.intoArray(sums, 3 * TN); p31.intoArray(sums, 3 * TN + FL); p32.intoArray(sums, 3 * TN + 2 * FL); p33.intoArray(sums, 3 * TN + 3 * FL);
        p40.intoArray(sums, 4 * TN); p41.intoArray(sums, 4 * TN + FL); p42.intoArray(sums, 4 * TN + 2 * FL); p43.intoArray(sums, 4 * TN + 3 * FL);
        p50.intoArray(sums, 5 * TN); p51.intoArray(sums, 5 * TN + FL); p52.intoArray(sums, 5 * TN + 2 * FL); p53.intoArray(sums, 5 * TN + 3 * FL);
        int s = a * nPad + j0;
        for (int t = 0; t < TM; t++) {
            long mul = mulA[t * na + a];
            if (mul == 0) continue; // a zero activation array (or a padding token) contributes 0
            for (int o = t * TN, i = 0; i < TN; i += LL, o += LL) {
                LongVector q = (LongVector) FloatVector.fromArray(FLOATS_PER_LONGS, sums, o).convertShape(VectorOperators.F2L, LONGS, 0);
                q = q.mul(LongVector.fromArray(LONGS, mulW, s + i)).mul(mul);
                q.add(LongVector.fromArray(LONGS, acc, o)).intoArray(acc, o);
            }
        }
    }
}
