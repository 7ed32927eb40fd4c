package io.qbridge.emulator;

/**
 * MicroScopiQ's outlier path through b-bit PEs, modelled on the ReCoN merge: an outlier's signed
 * significand {@code sig} (wider than a PE operand) is split into two b-bit operands,
 * <pre>
 *   upper = sig >> b          (arithmetic shift: signed, carries the sign)
 *   lower = sig & (2^b - 1)   (unsigned)
 * </pre>
 * so that {@code sig = upper * 2^b + lower}. Two PEs form the partial products {@code upper * x} and
 * {@code lower * x} with the outlier's activation x; ReCoN shifts the upper one left by b, adds the lower
 * one and shifts the sum by the outlier's exponent (element exponent plus the level-2 offset relative to
 * the block's fixed point) before it enters the block accumulator:
 * <pre>
 *   contribution = ((upper * x) << b) + lower * x) << shift   ==   (((upper << b) + lower) << shift) * x
 * </pre>
 * The identity on the right holds exactly in two's complement integers (no bits are lost: the widths in
 * docs/emulator.md leave headroom), which is why the decode stage may store the merged weight once at
 * load and the hot loop needs no special case; {@link #contribution} is the literal hardware order, used
 * by the tests to check that identity.
 */
public final class ReconMerge {
    private ReconMerge() {}

    public static long upper(long sig, int b) {
        return sig >> b;
    }

    public static long lower(long sig, int b) {
        return sig & ((1L << b) - 1);
    }

    /** The merged integer weight, (upper << b) + lower, shifted into the block's fixed point. */
    public static long merge(long sig, int b, int shift) {
        return ((upper(sig, b) << b) + lower(sig, b)) << shift;
    }

    /** The hardware order: two partial products, the upper one shifted by b, summed, then shifted. */
    public static long contribution(long sig, int b, int shift, int x) {
        long pu = upper(sig, b) * x, pl = lower(sig, b) * x;
        return ((pu << b) + pl) << shift;
    }
}
