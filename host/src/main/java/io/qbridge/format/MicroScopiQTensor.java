package io.qbridge.format;

import java.util.Arrays;
import java.util.Objects;

/**
 * MicroScopiQ codes, exactly as stored. {@code slots[r*k + c]}: the b-bit slot of column c (an MX-INT
 * inlier code, the upper half of an outlier code, or the lower half of the outlier that borrowed this
 * pruned slot). Per block {@code i = r*blocks + b}: {@code inlierScale[i]} the E8M0 level-1 code,
 * {@code level2[i]} the signed level-2 exponent offset, and pairs {@code j < maxOutliers} at
 * {@code outlierPos[i*maxOutliers + j]}, {@code prunedPos[...]} (equal positions = unused pair).
 */
public record MicroScopiQTensor(MicroScopiQFormat format, int n, int k, byte[] slots, byte[] inlierScale, byte[] level2,
                                byte[] outlierPos, byte[] prunedPos) implements QuantizedTensor {
    public MicroScopiQTensor {
        format.checkShape(n, k);
        long blocks = (long) n * (k / format.blockSize());
        Shapes.checkLength("slots", slots.length, (long) n * k);
        Shapes.checkLength("inlierScale", inlierScale.length, blocks);
        Shapes.checkLength("level2", level2.length, blocks);
        Shapes.checkLength("outlierPos", outlierPos.length, blocks * format.maxOutliers());
        Shapes.checkLength("prunedPos", prunedPos.length, blocks * format.maxOutliers());
        Shapes.checkCodes("slots", slots, format.bits());
        Shapes.checkCodes("outlierPos", outlierPos, format.posBits());
        Shapes.checkCodes("prunedPos", prunedPos, format.posBits());
        int lim = 1 << (format.level2Bits() - 1);
        for (int i = 0; i < level2.length; i++)
            if (level2[i] < -lim || level2[i] >= lim) throw new IllegalArgumentException("level2[" + i + "] = " + level2[i] + " does not fit in " + format.level2Bits() + " signed bits");
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
                && Arrays.equals(t.inlierScale, inlierScale) && Arrays.equals(t.level2, level2)
                && Arrays.equals(t.outlierPos, outlierPos) && Arrays.equals(t.prunedPos, prunedPos);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, n, k, Arrays.hashCode(slots), Arrays.hashCode(inlierScale), Arrays.hashCode(level2),
                Arrays.hashCode(outlierPos), Arrays.hashCode(prunedPos));
    }
}
