package io.qbridge.format;

/**
 * LO-BCQ decisions for the column loop: at column 0 the row scale g (from the whole row), at each array start
 * the E4M3 scale (from the array's current weights), at each block start the codebook of least error (from the
 * block's current weights, normalised); each weight then takes the nearest entry of that codebook
 * ({@link LoBcqEncoder}, the same rules the activation encoder uses). Under RTN this is exactly
 * {@link LoBcqEncoder#encodeRow}; under GPTQ later columns are error-updated before their decisions.
 */
final class LoBcqQuantizer implements ColumnQuantizer {
    private final LoBcqFormat f;
    private final LoBcqEncoder enc;
    private final int[] table;
    private final int n, k, na, nbA;
    private final float[] g;
    private final byte[] scales, selectors, indices;
    private final int[] rowCode, rowSel;

    LoBcqQuantizer(LoBcqFormat f, LoBcqCodebooks cb, int[] table, int n, int k) {
        this.f = f;
        this.enc = new LoBcqEncoder(f, cb);
        this.table = table;
        this.n = n;
        this.k = k;
        na = f.arrays(k);
        nbA = f.blocksPerArray();
        g = new float[n];
        scales = new byte[n * na];
        selectors = new byte[n * na * nbA];
        indices = new byte[n * k];
        rowCode = new int[n];
        rowSel = new int[n];
    }

    @Override public int n() { return n; }
    @Override public int k() { return k; }
    /** The row scale at column 0 reads the whole row. */
    @Override public int span() { return k; }
    @Override public boolean isDecisionPoint(int col) { return col % f.blockScalars() == 0; }

    @Override
    public void prepare(int row, int col, double[] w, double[] hinvDiag) {
        int la = f.arrayScalars(), lb = f.blockScalars(), ta = f.amaxTarget();
        if (col == 0) {
            float amax = 0;
            for (int c = 0; c < k; c++) {
                if (!Double.isFinite(w[c])) throw new IllegalArgumentException("weight at row " + row + ", column " + c + " is " + w[c]);
                amax = Math.max(amax, Math.abs((float) w[c]));
            }
            g[row] = LoBcqEncoder.rowScale(amax, ta);
        }
        int a = col / la;
        if (col % la == 0) {
            float am = 0;
            for (int c = col; c < Math.min(k, col + la); c++) am = Math.max(am, Math.abs((float) w[c])); // a partial last array: real scalars only
            rowCode[row] = LoBcqEncoder.scaleCode(am, g[row], ta);
            scales[row * na + a] = (byte) rowCode[row];
        }
        int sel = 0;
        if (rowCode[row] != 0) {
            int len = Math.min(lb, k - col);
            float[] v = new float[len];
            for (int c = 0; c < len; c++) v[c] = LoBcqEncoder.normalise((float) w[col + c], g[row], rowCode[row]);
            sel = enc.select(v, 0, len);
        }
        rowSel[row] = sel;
        selectors[(row * na + a) * nbA + (col % la) / lb] = (byte) sel;
    }

    @Override
    public float quantize(int row, int col, double w) {
        int code = rowCode[row];
        if (code == 0) { indices[row * k + col] = 0; return 0f; }
        int idx = enc.nearest(rowSel[row], LoBcqEncoder.normalise((float) w, g[row], code));
        indices[row * k + col] = (byte) idx;
        return LoBcqFormat.value(g[row], code, enc.codebooks().entry(rowSel[row], idx));
    }

    @Override
    public QuantizedTensor finish() {
        return new LoBcqTensor(f, n, k, table, g, scales, selectors, indices);
    }
}
