package io.qbridge.format;

/**
 * FineQ decisions: the group scale at each group start, the cluster encoding (which position, if any, is
 * pruned) at each cluster start, both from the weights as they are at that moment.
 */
final class FineQQuantizer implements ColumnQuantizer {
    private final FineQFormat f;
    private final int n, k, g, wpr, ng;
    private final byte[] words;
    private final short[] scales;
    private final float[] rowS;
    private final int[] rowIdx;

    FineQQuantizer(FineQFormat f, int n, int k) {
        this.f = f;
        this.n = n;
        this.k = k;
        this.g = f.groupSize();
        this.wpr = f.wordsPerRow(k);
        this.ng = f.groups(k);
        words = new byte[n * wpr];
        scales = new short[n * ng];
        rowS = new float[n];
        rowIdx = new int[n];
    }

    @Override public int n() { return n; }
    @Override public int k() { return k; }
    @Override public int span() { return g; }
    @Override public boolean isDecisionPoint(int col) { return (col % g) % FineQFormat.CLUSTER == 0; }

    @Override
    public void prepare(int row, int col, double[] w, double[] hinvDiag) {
        int groupEnd = Math.min(k, (col / g + 1) * g);
        if (col % g == 0) {
            double max = 0;
            for (int c = col; c < groupEnd; c++) {
                if (!Double.isFinite(w[c])) throw new IllegalArgumentException("weight at row " + row + ", column " + c + " is " + w[c]);
                max = Math.max(max, Math.abs(w[c]));
            }
            short s16 = chooseScale(w, hinvDiag, col, groupEnd, max);
            scales[row * ng + col / g] = s16;
            rowS[row] = Float.float16ToFloat(s16);
        }
        float s = rowS[row];
        int end = Math.min(col + FineQFormat.CLUSTER, groupEnd);
        int best = 0;
        double bestErr = Double.POSITIVE_INFINITY;
        for (int idx = 0; idx < 4; idx++) {
            double err = clusterError(w, hinvDiag, col, end, idx, s);
            if (err < bestErr) { bestErr = err; best = idx; }
        }
        rowIdx[row] = best;
        words[row * wpr + f.wordOf(col)] = (byte) (best << 6);
    }

    /**
     * The group scale: fp16(max / scaleDivisor * f) for f = 1 - 0.7 i / n, i = 0..n (n = scaleSearchSteps),
     * the one whose best per-cluster encodings give the lowest weighted error over the group, ties to the
     * larger scale. Shrinking the scale trades clipping a few large weights for a finer grid everywhere.
     */
    private short chooseScale(double[] w, double[] hinvDiag, int col, int groupEnd, double max) {
        int steps = f.scaleSearchSteps();
        short best = IntGroupFormat.toFp16(max / f.scaleDivisor());
        if (steps == 0) return best;
        double bestErr = Double.POSITIVE_INFINITY;
        for (int i = 0; i <= steps; i++) {
            short s16 = IntGroupFormat.toFp16(max / f.scaleDivisor() * (1 - 0.7 * i / steps));
            float s = Float.float16ToFloat(s16);
            double err = 0;
            for (int c = col; c < groupEnd && err < bestErr; c += FineQFormat.CLUSTER) {
                int end = Math.min(c + FineQFormat.CLUSTER, groupEnd);
                double e = Double.POSITIVE_INFINITY;
                for (int idx = 0; idx < 4; idx++) e = Math.min(e, clusterError(w, hinvDiag, c, end, idx, s));
                err += e;
            }
            if (err < bestErr) { bestErr = err; best = s16; }
        }
        return best;
    }

    /** Weighted squared error of encoding columns [c, end) of one cluster with index idx and scale s. */
    private static double clusterError(double[] w, double[] hinvDiag, int c, int end, int idx, float s) {
        double err = 0;
        for (int pos = 0; pos < end - c; pos++) {
            int nb = FineQFormat.fieldBits(idx, pos);
            double v = w[c + pos];
            double q = nb == 0 ? 0 : FineQFormat.decode(idx << 6 | FineQFormat.encodeField(v, s, nb) << FineQFormat.fieldShift(idx, pos), pos, s);
            double dk = hinvDiag == null ? 1 : hinvDiag[c + pos];
            err += (v - q) * (v - q) / (dk * dk);
        }
        return err;
    }

    @Override
    public float quantize(int row, int col, double w) {
        int wi = row * wpr + f.wordOf(col), pos = FineQFormat.posOf(col, g), idx = rowIdx[row];
        int nb = FineQFormat.fieldBits(idx, pos);
        if (nb == 0) return 0f;
        int word = (words[wi] & 0xFF) | FineQFormat.encodeField(w, rowS[row], nb) << FineQFormat.fieldShift(idx, pos);
        words[wi] = (byte) word;
        return FineQFormat.decode(word, pos, rowS[row]);
    }

    @Override
    public QuantizedTensor finish() {
        return new FineQTensor(f, n, k, words, scales);
    }
}
