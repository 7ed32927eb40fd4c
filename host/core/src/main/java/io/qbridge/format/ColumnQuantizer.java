package io.qbridge.format;

/**
 * The per-block quantization arithmetic of one format, shaped so that GPTQ can drive it one column at a
 * time (and RTN is the same loop without error feedback).
 *
 * <p>For each row, columns are visited in increasing order. At a <em>decision point</em> the caller calls
 * {@link #prepare} with the row's current (error-updated) weights; the quantizer fixes that block's
 * parameters (scale, zero, MicroScopiQ outlier/pruned positions, FineQ cluster encoding). Then
 * {@link #quantize} is called for each column with the current weight, stores the code and returns the
 * dequantized value, bit-identical to what {@link QuantFormat#dequantize(QuantizedTensor)} gives.
 *
 * <p>State is kept per row, so different rows may be processed by different threads concurrently; one row
 * must be processed by one thread.
 */
public interface ColumnQuantizer {
    int n();

    int k();

    /**
     * The number of columns one decision may look ahead at (group, block, FineQ scale group, MicroScopiQ
     * macro-block: its shared inlier exponent is decided at its first column from all of its columns). A caller that
     * updates weights lazily must have columns [col, col + span) up to date when it calls prepare at col;
     * GPTQ does this by aligning its lazy batches to multiples of the span.
     */
    int span();

    boolean isDecisionPoint(int col);

    /**
     * Fixes the parameters of the block that starts at {@code col} for {@code row}.
     *
     * @param rowWeights the row's current weights, indexed by column (length k); only [col, col + span) is read
     * @param hinvDiag   d_j = [chol(H^-1)]_jj for Hessian-aware decisions (importance w^2/d^2), or null for RTN (d = 1)
     */
    void prepare(int row, int col, double[] rowWeights, double[] hinvDiag);

    /**
     * True for a quantizer whose decisions need all n rows of a column at once (the official MicroScopiQ
     * repository's blocks along the output dimension, see {@link MicroScopiQOfficial}). A caller then visits each
     * column for every row together and calls {@link #prepareColumn} before quantizing that column's weights;
     * {@link #isDecisionPoint} is never true for such a quantizer.
     */
    default boolean decidesWholeColumns() {
        return false;
    }

    /** Fixes the decisions of column {@code col} from its current (error-updated) weights, indexed by row (length n). */
    default void prepareColumn(int col, double[] column) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " decides per row block, not per column");
    }

    /** Quantizes one weight with the fixed parameters; returns its dequantized value. */
    float quantize(int row, int col, double w);

    /** The codes and parameters collected so far (call after every column of every row was quantized). */
    QuantizedTensor finish();
}
