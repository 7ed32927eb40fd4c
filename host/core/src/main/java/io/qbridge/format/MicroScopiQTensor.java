package io.qbridge.format;

import java.util.Arrays;
import java.util.Objects;

/**
 * MicroScopiQ codes, exactly as stored. {@code slots[r*k + c]}: the b-bit slot of column c (an MX-INT
 * inlier code, the upper half of an outlier code, or the lower half of the outlier that borrowed this
 * pruned slot). Per macro-block {@code m}: {@code inlierScale[r*macroBlocksPerRow + m]} the E8M0 level-1
 * code. Per block {@code i = r*blocks + b}: {@code inlierOffset[i]} the unsigned inlier offset o (0 when the
 * format has no such field), {@code level2[i]} the level-2 offset d itself (bias included; the stored field
 * is d - bias), and pairs {@code j < maxOutliers} at {@code outlierPos[i*maxOutliers + j]},
 * {@code prunedPos[...]} (equal positions = unused pair).
 */
public record MicroScopiQTensor(MicroScopiQFormat format, int n, int k, byte[] slots, byte[] inlierScale, byte[] inlierOffset, byte[] level2,
                                byte[] outlierPos, byte[] prunedPos) implements QuantizedTensor {
    public MicroScopiQTensor {
        format.checkShape(n, k);
        long blocks = (long) n * (k / format.blockSize());
        Shapes.checkLength("slots", slots.length, (long) n * k);
        Shapes.checkLength("inlierScale", inlierScale.length, (long) n * format.macroBlocksPerRow(k));
        Shapes.checkLength("inlierOffset", inlierOffset.length, blocks);
        Shapes.checkLength("level2", level2.length, blocks);
        Shapes.checkLength("outlierPos", outlierPos.length, blocks * format.maxOutliers());
        Shapes.checkLength("prunedPos", prunedPos.length, blocks * format.maxOutliers());
        Shapes.checkCodes("slots", slots, format.bits());
        Shapes.checkCodes("inlierOffset", inlierOffset, format.inlierOffsetBits());
        Shapes.checkCodes("outlierPos", outlierPos, format.posBits());
        Shapes.checkCodes("prunedPos", prunedPos, format.posBits());
        for (int i = 0; i < level2.length; i++)
            if (level2[i] < format.level2Min() || level2[i] > format.level2Max())
                throw new IllegalArgumentException("level2[" + i + "] = " + level2[i] + " is outside [" + format.level2Min() + ", " + format.level2Max()
                        + "] (" + format.level2Bits() + " signed bits, bias " + format.level2Bias() + ")");
    }

    /** Number of used (outlier, pruned) pairs over the whole tensor. */
    public int outlierCount() {
        int c = 0;
        for (int i = 0; i < outlierPos.length; i++) if (outlierPos[i] != prunedPos[i]) c++;
        return c;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MicroScopiQTensor t && t.format.equals(format) && t.n == n && t.k == k && Arrays.equals(t.slots, slots)
                && Arrays.equals(t.inlierScale, inlierScale) && Arrays.equals(t.inlierOffset, inlierOffset) && Arrays.equals(t.level2, level2)
                && Arrays.equals(t.outlierPos, outlierPos) && Arrays.equals(t.prunedPos, prunedPos);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, n, k, Arrays.hashCode(slots), Arrays.hashCode(inlierScale), Arrays.hashCode(inlierOffset), Arrays.hashCode(level2),
                Arrays.hashCode(outlierPos), Arrays.hashCode(prunedPos));
    }
}
