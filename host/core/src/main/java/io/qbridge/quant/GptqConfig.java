package io.qbridge.quant;

/**
 * GPTQ settings.
 *
 * @param dampPercent fraction of the mean Hessian diagonal added to the diagonal (0.01 as in GPTQ)
 * @param blockSize   lazy-batch width in columns (128); rounded up to a multiple of the format's decision
 *                    span so that a block's decision always sees up-to-date weights
 * @param actOrder    visit columns by descending diag(H); groups/blocks are then formed in that order
 */
public record GptqConfig(double dampPercent, int blockSize, boolean actOrder) {
    public static final GptqConfig DEFAULT = new GptqConfig(0.01, 128, false);

    public GptqConfig {
        if (!(dampPercent >= 0) || Double.isInfinite(dampPercent)) throw new IllegalArgumentException("dampPercent must be finite and >= 0, got " + dampPercent);
        if (blockSize < 1) throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
    }

    public GptqConfig withActOrder(boolean on) {
        return new GptqConfig(dampPercent, blockSize, on);
    }
}
