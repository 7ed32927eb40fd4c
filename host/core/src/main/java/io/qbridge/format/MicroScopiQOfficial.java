package io.qbridge.format;

import java.util.Arrays;

/**
 * The official MicroScopiQ repository's choices ({@code docs/results.md}, "Official repository's choices vs ours") as a <b>simulated</b>
 * (fake-quant) scheme, so they can be compared with Qbridge's {@link MicroScopiQFormat}: it gives the dequantized
 * weights the official algorithm would give and an honest count of the bits it would have to store, but it has
 * no packed byte layout. Its alignment is not guaranteed (a block's outliers need not have pruned slots in the
 * same block), which is exactly the difference being compared; {@link #refusal} is the one-line reason every
 * packing or device path gives.
 *
 * <p>For each input column j (inside the GPTQ column loop, from the error-updated weights):
 * <ul>
 *   <li>the column's N weights are cut into blocks of B along the <b>output</b> dimension (N must be a multiple of B);</li>
 *   <li>per block, outliers are the weights with |w| > mean(|w|) + k * std(|w|) (the same test as ours, on |w|),
 *       all of them (no cap: the official code has none);</li>
 *   <li>pruning: as many of the column's non-outliers as the column has outliers are set to zero, the least
 *       important across the <b>whole column</b>, not per block (importance w^2 / [H^-1]_jj^2, which within one
 *       column orders like w^2; ties to the lower row);</li>
 *   <li>inliers: MX-INT b with the block's shared exponent eb (E8M0 rule over the block's remaining inliers);</li>
 *   <li>outliers: the 2b-bit outlier element with two-level scaling, level-2 exponent d = eo - eb relative to the
 *       inlier exponent, eo by the same rule as ours ({@link MicroScopiQFormat#outlierExponent}); the official code
 *       stores the level-2 exponent in 8 bits, so d is not range-limited here.</li>
 * </ul>
 * The arithmetic (outlier threshold, MX-INT and outlier element encoding, the exponent rules, the dequantized
 * values) is {@link MicroScopiQFormat}'s and {@link MicroScopiQQuantizer}'s, not a copy; only the block
 * direction and the pruning scope differ. Fields of {@code base} other than bits, block size, sigma and outlier
 * element are unused.
 *
 * <p>Stored bits (what the official scheme would have to keep; <b>(ours)</b>, the official code does not pack):
 * {@code N*K*b} slots (an outlier's 2b bits take its own slot and its pruned slot) + 16 bits per block (an 8-bit
 * inlier and an 8-bit level-2 exponent) + per outlier {@code ceil(log2 B)} bits for its position in the block and
 * {@code ceil(log2 N)} bits for its pruned slot anywhere in the column. So bits/weight =
 * {@code b + 16/B + (outliers / (N*K)) * (ceil(log2 B) + ceil(log2 N))}.
 */
public record MicroScopiQOfficial(MicroScopiQFormat base) {
    public static final MicroScopiQOfficial W4 = new MicroScopiQOfficial(MicroScopiQFormat.W4);
    public static final MicroScopiQOfficial W2 = new MicroScopiQOfficial(MicroScopiQFormat.W2);

    public MicroScopiQOfficial {
        if (base == null) throw new IllegalArgumentException("base format is null");
    }

    public String id() {
        return "microscopiq-w" + base.bits() + "-official";
    }

    /** The one-line reason a simulated recipe cannot be packed, written to a file or run on a device. */
    public static String refusal(String name) {
        return name + " is a simulated (fake-quant) recipe with no packed byte layout: the official MicroScopiQ code prunes across"
                + " the whole column, so a block's outliers need not have pruned slots in that block; use it only with 'qbridge eval' on an encoder";
    }

    public Quantizer columnQuantizer(int n, int k) {
        Shapes.check(n, k);
        if (n % base.blockSize() != 0)
            throw new IllegalArgumentException("n = " + n + " is not a multiple of the block size " + base.blockSize() + " required by " + id() + " (blocks run along the output dimension)");
        return new Quantizer(n, k);
    }

    /** Round-to-nearest: the same column loop without error feedback. Returns the dequantized [n][k] matrix. */
    public Simulated rtn(float[] w, int n, int k) {
        Shapes.checkWeights(w, n, k);
        Quantizer q = columnQuantizer(n, k);
        float[] deq = new float[n * k];
        double[] col = new double[n];
        for (int c = 0; c < k; c++) {
            for (int r = 0; r < n; r++) col[r] = w[r * k + c];
            q.prepareColumn(c, col);
            for (int r = 0; r < n; r++) deq[r * k + c] = q.quantize(r, c, col[r]);
        }
        return new Simulated(deq, q.storedBits());
    }

    /** Dequantized weights and the bits the official scheme would store for them. */
    public record Simulated(float[] dequantized, long storedBits) {}

    /** The column-wise quantizer: {@link #prepareColumn} decides a whole column, {@link #quantize} applies it. */
    public final class Quantizer implements ColumnQuantizer {
        static final byte INLIER = 0, OUTLIER = 1, PRUNED = 2;
        private final int n, k, bb;
        private final MxInt inlier;
        private final byte[] role;
        private final int[] eb, d;        // per block of the current column
        private final double[] prunable;  // scratch: |w| of the column's inliers
        private long outliers;
        private int decidedColumn = -1;

        private Quantizer(int n, int k) {
            this.n = n;
            this.k = k;
            this.bb = base.blockSize();
            this.inlier = new MxInt(base.bits());
            role = new byte[n];
            eb = new int[n / bb];
            d = new int[n / bb];
            prunable = new double[n];
        }

        @Override public int n() { return n; }
        @Override public int k() { return k; }
        @Override public int span() { return 1; }
        @Override public boolean isDecisionPoint(int col) { return false; }
        @Override public boolean decidesWholeColumns() { return true; }

        @Override
        public void prepare(int row, int col, double[] rowWeights, double[] hinvDiag) {
            throw new UnsupportedOperationException(id() + " decides whole columns (prepareColumn)");
        }

        @Override
        public void prepareColumn(int col, double[] c) {
            if (c.length != n) throw new IllegalArgumentException("column must have n = " + n + " weights, got " + c.length);
            for (int r = 0; r < n; r++)
                if (!Double.isFinite(c[r])) throw new IllegalArgumentException("weight at row " + r + ", column " + col + " is " + c[r]);
            int count = 0;
            for (int r0 = 0; r0 < n; r0 += bb) {
                double thr = MicroScopiQQuantizer.outlierThreshold(c, r0, bb, base.outlierSigma());
                for (int r = r0; r < r0 + bb; r++) {
                    boolean out = Math.abs(c[r]) > thr;
                    role[r] = out ? OUTLIER : INLIER;
                    if (out) count++;
                }
            }
            outliers += count;
            prune(c, count);
            for (int b = 0; b < n / bb; b++) {
                double maxIn = 0, maxOut = 0;
                for (int r = b * bb; r < (b + 1) * bb; r++) {
                    if (role[r] == INLIER) maxIn = Math.max(maxIn, Math.abs(c[r]));
                    else if (role[r] == OUTLIER) maxOut = Math.max(maxOut, Math.abs(c[r]));
                }
                eb[b] = E8M0.sharedExponent(maxIn, inlier.emax());
                d[b] = maxOut > 0 ? base.outlierExponent(maxOut) - eb[b] : 0;
            }
            decidedColumn = col;
        }

        /** Zeroes the {@code count} smallest-|w| inliers of the whole column (ties to the lower row). */
        private void prune(double[] c, int count) {
            if (count == 0) return;
            int m = 0;
            for (int r = 0; r < n; r++) if (role[r] == INLIER) prunable[m++] = Math.abs(c[r]);
            if (m == 0) return;
            Arrays.sort(prunable, 0, m);
            double cut = prunable[Math.min(count, m) - 1];
            int below = 0;
            for (int r = 0; r < n; r++) if (role[r] == INLIER && Math.abs(c[r]) < cut) { role[r] = PRUNED; below++; }
            for (int r = 0, left = Math.min(count, m) - below; r < n && left > 0; r++)
                if (role[r] == INLIER && Math.abs(c[r]) == cut) { role[r] = PRUNED; left--; }
        }

        @Override
        public float quantize(int row, int col, double w) {
            if (col != decidedColumn) throw new IllegalStateException("column " + col + " was not prepared (prepareColumn)");
            int b = row / bb;
            return switch (role[row]) {
                case PRUNED -> 0f;
                case OUTLIER -> base.outlierValue(base.outlierElement().encode(Math.scalb(w, -(eb[b] + d[b]))), eb[b], d[b]);
                default -> base.inlierValue(inlier, inlier.encode(Math.scalb(w, -eb[b])), eb[b]);
            };
        }

        /** The role of each row in the last prepared column (INLIER 0, OUTLIER 1, PRUNED 2), for tests. */
        byte[] roles() {
            return role.clone();
        }

        /** The inlier exponent and level-2 offset of block b of the last prepared column, for tests. */
        int inlierExponent(int b) { return eb[b]; }

        int level2(int b) { return d[b]; }

        /** Every outlier seen so far. */
        public long outliers() {
            return outliers;
        }

        /** The bits the official scheme would store for this layer (see the class comment). */
        public long storedBits() {
            long blocks = (long) (n / bb) * k;
            int pos = 32 - Integer.numberOfLeadingZeros(bb - 1), col = 32 - Integer.numberOfLeadingZeros(n - 1);
            return (long) n * k * base.bits() + 16L * blocks + outliers * (pos + col);
        }

        /** No codes: the scheme has no packed byte layout. */
        @Override
        public QuantizedTensor finish() {
            throw new UnsupportedOperationException(refusal(id()));
        }
    }
}
