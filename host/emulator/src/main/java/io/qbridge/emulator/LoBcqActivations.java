package io.qbridge.emulator;

import io.qbridge.compute.Parallel;
import io.qbridge.format.LoBcqEncoder;

/**
 * LO-BCQ activations (W4A4, {@code docs/emulator.md} §8a): each token is encoded online with the layer's codebooks by
 * {@link LoBcqEncoder#encodeRow}, the same rules the weights were encoded with (row scale g per token, E4M3 scale per
 * array, least-error codebook per block by exhaustive search, nearest entry per scalar).
 *
 * @param g       [rows] per-token FP32 scales
 * @param scales  [rows][arrays] E4M3 codes
 * @param sel     [rows][blocks] selectors
 * @param idx     [rows][K] entry indices
 */
public record LoBcqActivations(int rows, int k, float[] g, byte[] scales, byte[] sel, byte[] idx) {

    /** Encodes {@code rows} tokens of {@code x} (row-major [rows][k]); a non-finite activation is an error naming its row and column. */
    public static LoBcqActivations encode(LoBcqEncoder enc, float[] x, int rows, int k) {
        var f = enc.format();
        int na = f.arrays(k), nb = na * f.blocksPerArray();
        float[] g = new float[rows];
        byte[] scales = new byte[rows * na], sel = new byte[rows * nb], idx = new byte[rows * k];
        Parallel.forRange(rows, 4, (from, to) -> {
            float[] work = new float[f.arrayScalars()];
            for (int r = from; r < to; r++) {
                try {
                    g[r] = enc.encodeRow(x, r * k, k, scales, r * na, sel, r * nb, idx, r * k, work);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("activation row " + r + ": " + e.getMessage(), e);
                }
            }
        });
        return new LoBcqActivations(rows, k, g, scales, sel, idx);
    }
}
