package io.qbridge.quant;

/**
 * Settings of the LO-BCQ codebook design ({@code docs/formats.md} §8.3); every value the paper leaves open is named
 * here so that its value can be set without a code change.
 *
 * @param maxBlocksPerKind   blocks sampled uniformly (fixed seed) per tensor kind, weights and activations separately
 * @param seed               the sampling seed
 * @param lloydTolerance     Lloyd-Max stops when the largest entry move is below this (normalised units)
 * @param lloydMaxIterations ... or after this many inner iterations
 * @param relativeTolerance  the outer loop stops when J_{t-1} - J_t <= relativeTolerance * J_{t-1}
 * @param maxIterations      ... or after this many outer iterations
 */
public record LoBcqDesignConfig(int maxBlocksPerKind, long seed, double lloydTolerance, int lloydMaxIterations, double relativeTolerance, int maxIterations) {
    /** The spec's values (2^20 blocks per kind, 1e-4, 100, 1e-4, 30). */
    public static final LoBcqDesignConfig SPEC = new LoBcqDesignConfig(1 << 20, 20250101L, 1e-4, 100, 1e-4, 30);

    public LoBcqDesignConfig {
        if (maxBlocksPerKind < 1) throw new IllegalArgumentException("maxBlocksPerKind must be >= 1, got " + maxBlocksPerKind);
        if (!(lloydTolerance >= 0) || !(relativeTolerance >= 0)) throw new IllegalArgumentException("tolerances must be >= 0");
        if (lloydMaxIterations < 1 || maxIterations < 1) throw new IllegalArgumentException("iteration limits must be >= 1");
    }

    public LoBcqDesignConfig withMaxBlocksPerKind(int blocks) {
        return new LoBcqDesignConfig(blocks, seed, lloydTolerance, lloydMaxIterations, relativeTolerance, maxIterations);
    }

    @Override
    public String toString() {
        return "maxBlocksPerKind=" + maxBlocksPerKind + " seed=" + seed + " lloydTolerance=" + lloydTolerance + " lloydMaxIterations=" + lloydMaxIterations
                + " relativeTolerance=" + relativeTolerance + " maxIterations=" + maxIterations;
    }
}
