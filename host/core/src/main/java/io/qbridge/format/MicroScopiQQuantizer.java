package io.qbridge.format;

import java.util.Arrays;

/**
 * The MicroScopiQ decisions (macro-block level-1 exponent; per block outliers, pruned slots, inlier offset
 * and level-2 offset) and per-column encoding.
 *
 * <p>Decision points are block starts. At the first column of a macro-block the shared level-1 exponent e1
 * is decided first, from the current weights of all the macro-block's columns: every block's outliers are
 * selected provisionally by the same rule as below, e1 = floor(log2 max|inlier|) over the macro-block, and
 * e1 is raised if a provisional outlier's exponent would exceed e1 + max d. The span is therefore the
 * macro-block (G*B columns), so a GPTQ caller updates all of them before that decision. Then, at every block
 * start, the block's outliers, pruned slots and offsets are decided from the weights as they are then (GPTQ's
 * error-updated weights, or the original weights under RTN) with e1 fixed, and kept while the block's columns
 * are quantized one by one. Weights that grow after e1 was fixed saturate as inliers; that is the price of
 * sharing e1 (a later decision cannot change a scale earlier columns were already quantized with).
 */
final class MicroScopiQQuantizer implements ColumnQuantizer {
    private static final byte INLIER = 0, OUTLIER = 1, PRUNED = 2;

    private final MicroScopiQFormat f;
    private final MxInt inlier;
    private final int n, k, nb, nm, bb, cap, macroCols;
    private final byte[] slots, inlierScale, inlierOffset, level2, outlierPos, prunedPos;
    // Per-row state of the current macro-block and block.
    private final byte[] role;      // [row*B + i]
    private final byte[] partner;   // pruned position of the outlier at i
    private final int[] e1, eb, d;  // macro-block exponent, block inlier exponent, block level-2 offset

    MicroScopiQQuantizer(MicroScopiQFormat f, int n, int k) {
        this.f = f;
        this.n = n;
        this.k = k;
        this.bb = f.blockSize();
        this.nb = k / bb;
        this.nm = f.macroBlocksPerRow(k);
        this.macroCols = f.macroColumns();
        this.cap = f.maxOutliers();
        this.inlier = new MxInt(f.bits());
        slots = new byte[n * k];
        inlierScale = new byte[n * nm];
        inlierOffset = new byte[n * nb];
        level2 = new byte[n * nb];
        outlierPos = new byte[n * nb * cap];
        prunedPos = new byte[n * nb * cap];
        role = new byte[n * bb];
        partner = new byte[n * bb];
        e1 = new int[n];
        eb = new int[n];
        d = new int[n];
    }

    @Override public int n() { return n; }
    @Override public int k() { return k; }
    /** The macro-block: its e1 decision reads all of its columns. */
    @Override public int span() { return Math.min(macroCols, k); }
    @Override public boolean isDecisionPoint(int col) { return col % bb == 0; }

    @Override
    public void prepare(int row, int col, double[] w, double[] hinvDiag) {
        if (col % macroCols == 0) decideMacroBlock(row, col, w);
        decideBlock(row, col, w, hinvDiag);
    }

    /** The shared level-1 exponent of the macro-block starting at col, from the current weights of all its columns. */
    private void decideMacroBlock(int row, int col, double[] w) {
        int end = Math.min(k, col + macroCols), base = row * bb;
        double maxIn = 0;
        int eoMax = Integer.MIN_VALUE;
        for (int c0 = col; c0 < end; c0 += bb) {
            int count = selectOutliers(row, c0, w);
            double maxOut = 0;
            for (int i = 0; i < bb; i++) {
                double a = Math.abs(w[c0 + i]);
                if (role[base + i] == INLIER) maxIn = Math.max(maxIn, a);
                else maxOut = Math.max(maxOut, a);
            }
            if (count > 0) eoMax = Math.max(eoMax, outlierExponent(maxOut));
        }
        int ex1 = E8M0.sharedExponent(maxIn, inlier.emax());
        // (ours) Inliers lose range rather than an outlier its top: raise e1 so every provisional outlier fits e1 + max d.
        if (eoMax != Integer.MIN_VALUE && eoMax - ex1 > f.level2Max()) ex1 = Math.min(E8M0.MAX_EXP, eoMax - f.level2Max());
        e1[row] = ex1;
        inlierScale[row * nm + col / macroCols] = (byte) E8M0.encode(ex1);
    }

    /**
     * Marks the block's outliers in role[row*B ..]: |w| above mean + sigma * std of |w| over the block, largest
     * first (ties to the lower position), at most C of them. B is small, so repeated selection over primitives
     * beats sorting boxed indices.
     */
    private int selectOutliers(int row, int col, double[] w) {
        for (int i = 0; i < bb; i++) {
            double v = w[col + i];
            if (!Double.isFinite(v)) throw new IllegalArgumentException("weight at row " + row + ", column " + (col + i) + " is " + v);
        }
        double thr = outlierThreshold(w, col, bb, f.outlierSigma());
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
        return count;
    }

    /**
     * The outlier threshold over v[from, from + len): mean(|v|) + sigma * std(|v|), std with the n-1
     * denominator. Shared with {@link MicroScopiQOfficial}, whose blocks run along the output dimension.
     */
    static double outlierThreshold(double[] v, int from, int len, double sigma) {
        double sum = 0;
        for (int i = 0; i < len; i++) sum += Math.abs(v[from + i]);
        double mean = sum / len, ss = 0;
        for (int i = 0; i < len; i++) ss += (Math.abs(v[from + i]) - mean) * (Math.abs(v[from + i]) - mean);
        return mean + sigma * Math.sqrt(ss / (len - 1));
    }

    private int outlierExponent(double maxOut) {
        return f.outlierExponent(maxOut);
    }

    private void decideBlock(int row, int col, double[] w, double[] hinvDiag) {
        int base = row * bb;
        int count = selectOutliers(row, col, w);
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
        double maxIn = 0, maxOut = 0;
        for (int i = 0; i < bb; i++) {
            double a = Math.abs(w[col + i]);
            if (role[base + i] == INLIER) maxIn = Math.max(maxIn, a);
            else if (role[base + i] == OUTLIER) maxOut = Math.max(maxOut, a);
        }
        // Inlier offset: the block's own inlier exponent when finer than e1, within the field's range.
        int off = Math.max(0, Math.min(f.inlierOffsetMax(), e1[row] - E8M0.sharedExponent(maxIn, inlier.emax())));
        int dd = f.level2Bias(); // no outlier: field 0
        if (count > 0) {
            int eo = outlierExponent(maxOut);
            // A finer inlier exponent must not push the outlier out of the level-2 range.
            off = Math.max(0, Math.min(off, f.level2Max() - (eo - e1[row])));
            dd = Math.max(f.level2Min(), Math.min(f.level2Max(), eo - (e1[row] - off)));
        }
        eb[row] = e1[row] - off;
        d[row] = dd;
        inlierOffset[bi] = (byte) off;
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
                int code = f.outlierElement().encode(Math.scalb(w, -(eb[row] + d[row])));
                int mask = (1 << f.bits()) - 1;
                slots[blockStart + i] = (byte) (code >>> f.bits());
                slots[blockStart + partner[base + i]] = (byte) (code & mask);
                return f.outlierValue(code, eb[row], d[row]);
            }
            default: {
                int code = inlier.encode(Math.scalb(w, -eb[row]));
                slots[blockStart + i] = (byte) code;
                return f.inlierValue(inlier, code, eb[row]);
            }
        }
    }

    @Override
    public QuantizedTensor finish() {
        return new MicroScopiQTensor(f, n, k, slots, inlierScale, inlierOffset, level2, outlierPos, prunedPos);
    }
}
