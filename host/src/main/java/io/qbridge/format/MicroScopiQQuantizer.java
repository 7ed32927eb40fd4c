package io.qbridge.format;

import java.util.Arrays;

/**
 * The MicroScopiQ block decisions (outliers, pruned slots, two-level scales) and per-column encoding.
 * Decisions are taken once per row and block, from the weights as they are when the block starts (GPTQ's
 * error-updated weights, or the original weights under RTN), then kept fixed while the block's columns
 * are quantized one by one.
 */
final class MicroScopiQQuantizer implements ColumnQuantizer {
    private static final byte INLIER = 0, OUTLIER = 1, PRUNED = 2;

    private final MicroScopiQFormat f;
    private final MxInt inlier;
    private final int n, k, nb, bb, cap;
    private final byte[] slots, inlierScale, level2, outlierPos, prunedPos;
    // Per-row state of the current block.
    private final byte[] role;      // [row*B + i]
    private final byte[] partner;   // pruned position of the outlier at i
    private final int[] e1, d;

    MicroScopiQQuantizer(MicroScopiQFormat f, int n, int k) {
        this.f = f;
        this.n = n;
        this.k = k;
        this.bb = f.blockSize();
        this.nb = k / bb;
        this.cap = f.maxOutliers();
        this.inlier = new MxInt(f.bits());
        slots = new byte[n * k];
        inlierScale = new byte[n * nb];
        level2 = new byte[n * nb];
        outlierPos = new byte[n * nb * cap];
        prunedPos = new byte[n * nb * cap];
        role = new byte[n * bb];
        partner = new byte[n * bb];
        e1 = new int[n];
        d = new int[n];
    }

    @Override public int n() { return n; }
    @Override public int k() { return k; }
    @Override public int span() { return bb; }
    @Override public boolean isDecisionPoint(int col) { return col % bb == 0; }

    @Override
    public void prepare(int row, int col, double[] w, double[] hinvDiag) {
        double sum = 0;
        for (int i = 0; i < bb; i++) {
            double v = w[col + i];
            if (!Double.isFinite(v)) throw new IllegalArgumentException("weight at row " + row + ", column " + (col + i) + " is " + v);
            sum += Math.abs(v);
        }
        double mean = sum / bb, ss = 0;
        for (int i = 0; i < bb; i++) ss += (Math.abs(w[col + i]) - mean) * (Math.abs(w[col + i]) - mean);
        double thr = mean + f.outlierSigma() * Math.sqrt(ss / (bb - 1));

        // Outliers: above the threshold, largest first (ties to the lower position), at most cap of them.
        // B is small, so repeated selection over primitives beats sorting boxed indices.
        int base = row * bb;
        Arrays.fill(role, base, base + bb, INLIER);
        int count = 0;
        while (count < cap) {
            int pick = -1;
            double best = thr;
            for (int i = 0; i < bb; i++)
                if (role[base + i] == INLIER && Math.abs(w[col + i]) > best) { best = Math.abs(w[col + i]); pick = i; }
            if (pick < 0) break;
            role[base + pick] = OUTLIER;
            count++;
        }
        // Pruned: least important non-outliers, importance w^2 / d^2 (the SparseGPT saliency), ties to the lower position.
        for (int pruned = 0; pruned < count; pruned++) {
            int pick = -1;
            double best = Double.POSITIVE_INFINITY;
            for (int i = 0; i < bb; i++)
                if (role[base + i] == INLIER) {
                    double imp = importance(w, hinvDiag, col + i);
                    if (pick < 0 || imp < best) { best = imp; pick = i; }
                }
            role[base + pick] = PRUNED;
        }
        // Pair in ascending position order and record the metadata.
        int bi = row * nb + col / bb;
        Arrays.fill(outlierPos, bi * cap, bi * cap + cap, (byte) 0);
        Arrays.fill(prunedPos, bi * cap, bi * cap + cap, (byte) 0);
        for (int i = 0, p = 0, j = 0; i < bb; i++) {
            if (role[base + i] != OUTLIER) continue;
            while (role[base + p] != PRUNED) p++;
            partner[base + i] = (byte) p;
            outlierPos[bi * cap + j] = (byte) i;
            prunedPos[bi * cap + j] = (byte) p;
            j++;
            p++;
        }
        // Level-1 (inliers) and level-2 (outliers) exponents.
        double maxIn = 0, maxOut = 0;
        for (int i = 0; i < bb; i++) {
            double a = Math.abs(w[col + i]);
            if (role[base + i] == INLIER) maxIn = Math.max(maxIn, a);
            else if (role[base + i] == OUTLIER) maxOut = Math.max(maxOut, a);
        }
        int ex1 = E8M0.sharedExponent(maxIn, inlier.emax());
        int dd = 0;
        if (count > 0) {
            int eo = E8M0.sharedExponent(maxOut, f.outlierElement().emax());
            // (ours) Unlike the OCP rule, do not let the largest outlier saturate (E4M3 would clip [448, 512)
            // by up to 12.5%, E2M1 [6, 8) by 25%): take one more exponent step when it would.
            if (Math.scalb(maxOut, -eo) > f.outlierElement().maxNormal()) eo++;
            int dMax = (1 << (f.level2Bits() - 1)) - 1, dMin = -(1 << (f.level2Bits() - 1));
            if (eo - ex1 > dMax) ex1 = Math.min(E8M0.MAX_EXP, eo - dMax);
            dd = Math.max(dMin, Math.min(dMax, eo - ex1));
        }
        e1[row] = ex1;
        d[row] = dd;
        inlierScale[bi] = (byte) E8M0.encode(ex1);
        level2[bi] = (byte) dd;
    }

    private static double importance(double[] w, double[] hinvDiag, int c) {
        double dk = hinvDiag == null ? 1.0 : hinvDiag[c];
        return w[c] * w[c] / (dk * dk);
    }

    @Override
    public float quantize(int row, int col, double w) {
        int i = col % bb, base = row * bb, blockStart = row * k + col - i;
        switch (role[base + i]) {
            case PRUNED:
                return 0f; // its slot holds the partner outlier's lower half, written by the outlier
            case OUTLIER: {
                int code = f.outlierElement().encode(Math.scalb(w, -(e1[row] + d[row])));
                int mask = (1 << f.bits()) - 1;
                slots[blockStart + i] = (byte) (code >>> f.bits());
                slots[blockStart + partner[base + i]] = (byte) (code & mask);
                return f.outlierValue(code, e1[row], d[row]);
            }
            default: {
                int code = inlier.encode(Math.scalb(w, -e1[row]));
                slots[blockStart + i] = (byte) code;
                return f.inlierValue(inlier, code, e1[row]);
            }
        }
    }

    @Override
    public QuantizedTensor finish() {
        return new MicroScopiQTensor(f, n, k, slots, inlierScale, level2, outlierPos, prunedPos);
    }
}
