package io.qbridge.emulator;

import io.qbridge.device.PerformanceModel.LayerProfile;
import io.qbridge.format.QuantFormat;

/**
 * A weight matrix as the PE array sees it after the decode stage: every weight an integer on its block's
 * fixed point, one scale per (block, output), in the {@code [K][N]} layout the kernels stream.
 *
 * <p>The real value of weight (n, c) in block b = c / blockSize is {@code values[c*n + n] * scale[b*N + n]},
 * except for asymmetric INT groups, where it is {@code (values - zero) * scale} and the zero point is
 * applied once per block to the activation sum (see {@code docs/emulator.md}).
 *
 * @param blockSize   columns per scale (the last block of a row may be shorter)
 * @param values      [K][N] integer weights
 * @param scale       [blocks][N] block scale in double (NaN for an MX block whose scale is NaN)
 * @param zero        [blocks][N] zero points (asymmetric INT only), else null
 * @param maxBlockL1  max over (block, output) of sum |value|: with |q| <= 127 it bounds every partial sum
 *                    (MX and MicroScopiQ blocks are normalized: common trailing zero bits moved into the scale)
 * @param outliers    MicroScopiQ outliers in the matrix (0 for other formats)
 * @param pulses      FineQ temporal-coding pulses, sum of (m + 1) over unpruned weights (0 for other formats)
 */
public record DecodedWeights(QuantFormat format, int n, int k, int blockSize, long[] values, double[] scale, double[] zero,
                             long maxBlockL1, long outliers, long pulses) {
    public int blocks() {
        return (k + blockSize - 1) / blockSize;
    }

    /** What the performance model needs of this layer, whose packed image is {@code packedBytes} long. */
    public LayerProfile profile(long packedBytes) {
        return new LayerProfile(format, n, k, packedBytes, outliers, pulses, blocks(), blockSize);
    }

    /** The largest |partial sum| any block accumulator can reach with INT8 activations. */
    public long accumulatorBound() {
        return maxBlockL1 * ActivationQuantizer.QMAX;
    }

    /**
     * Accumulator bits (with sign) the worst case of this matrix needs on the host's grid (for MX and
     * MicroScopiQ the decoder moves common trailing zeros into the scale, so this can be below the fixed-grid
     * hardware width of docs/emulator.md §4).
     */
    public int accumulatorBits() {
        return 65 - Long.numberOfLeadingZeros(Math.max(1, accumulatorBound()));
    }
}
