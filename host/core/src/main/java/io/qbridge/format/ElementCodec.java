package io.qbridge.format;

/**
 * A scalar element format of an MX block (OCP MX v1.0 §5.3): a code of {@link #bits()} bits whose value is
 * multiplied by the block's power-of-two scale.
 */
public sealed interface ElementCodec permits FpElement, MxInt {
    int bits();

    /** Exponent of the largest normal value (OCP MX v1.0 §6.3 calls it emax_elem). */
    int emax();

    /** Largest finite magnitude. */
    double maxNormal();

    /**
     * Encodes a finite value: round to nearest, ties to even, saturating to +-{@link #maxNormal()}
     * (OCP MX v1.0 §6.3: "normal numbers that exceed the representable range ... are clamped").
     * The caller deals with NaN/Inf at block level (see {@link E8M0}).
     */
    int encode(double v);

    /** The exact value of a code (NaN/Inf only for the FP8 codes that mean them). */
    double decode(int code);
}
