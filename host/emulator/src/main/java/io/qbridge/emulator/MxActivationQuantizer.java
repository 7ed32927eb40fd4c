package io.qbridge.emulator;

import io.qbridge.device.ActivationMode;
import io.qbridge.format.E8M0;
import io.qbridge.format.MxInt;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * MX-INT8 activations (OCP MX v1.0, docs/emulator.md §1b): per token, blocks of {@value #BLOCK} consecutive
 * elements along K (the last block of a row may be shorter), each with one E8M0 exponent X, codes on the
 * grid 2^(X - 6):
 * <pre>
 *   a    = max_{c in block} |x[c]|                      fp32 (exact)
 *   X    = clamp(floor(log2 a), -127, 127)              (E8M0 shared exponent, emax of MX-INT8 = 0; a = 0: X = -127)
 *   q[c] = clamp(rint(x[c] * 2^(6 - X)), -127, 127)     (the product is exact; ties to even; -128 never produced)
 *   value of q[c] = q[c] * 2^(X - 6)
 * </pre>
 * This is the weights' {@code mxint8} element rule ({@link MxInt}, {@link E8M0#sharedExponent}) applied to a
 * token's activations; {@link #code} and {@link #exponent} are the one scalar statement and delegate to the
 * format package. A non-finite activation is an error. The vector loop computes the same codes: an fp32
 * multiply by 2^(6 - X) (exact: the result is below 128 and a result below 2^-126, where fp32 would round,
 * gives code 0 either way), rint by the 1.5 * 2^23 add-subtract, clamp; blocks whose factor 2^(6 - X) is
 * not an fp32 (X below -121), partial blocks and lanes that do not divide 32 go through {@link #code}.
 */
public final class MxActivationQuantizer {
    /** Elements per activation block along K. */
    public static final int BLOCK = ActivationMode.MX_BLOCK;
    /** The exponent an all-zero block (and a padding row) gets: E8M0 code 0x00. */
    public static final int ZERO_EXPONENT = E8M0.MIN_EXP;

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
    private static final float RINT_MAGIC = 12582912f;
    private static final int QMAX = MxInt.INT8.maxCode();

    private MxActivationQuantizer() {}

    /** Activation blocks in a row of {@code k} elements. */
    public static int blocks(int k) {
        return ActivationMode.mxBlocks(k);
    }

    /** The shared exponent X of a block whose largest magnitude is {@code maxAbs} (finite, >= 0). */
    public static int exponent(float maxAbs) {
        return E8M0.sharedExponent(maxAbs, MxInt.INT8.emax());
    }

    /** The one rounding rule: the MX-INT8 code of {@code x} in a block with exponent {@code exp}, as a signed int. */
    public static int code(float x, int exp) {
        return (byte) MxInt.INT8.encode(Math.scalb((double) x, -exp));
    }

    /** The value of code 1 in a block with exponent {@code exp}: 2^(exp - 6), exact in fp64. */
    public static double step(int exp) {
        return Math.scalb(1.0, exp - 6);
    }

    /**
     * Quantizes rows [0, rows) of {@code x[rows][k]}: codes into {@code q[rows][k]}, exponents into
     * {@code exps[rows][blocks(k)]}. Rows [rows, paddedRows) get codes 0 and exponent {@link #ZERO_EXPONENT}.
     *
     * @throws IllegalArgumentException naming the row and column of a non-finite activation
     */
    public static void quantize(float[] x, int k, int rows, int paddedRows, int[] q, int[] exps) {
        int nb = blocks(k);
        io.qbridge.compute.Parallel.forRange(rows, Math.max(1, 16384 / Math.max(1, k)), (r0, r1) -> quantizeRows(x, k, r0, r1, q, exps));
        java.util.Arrays.fill(q, rows * k, paddedRows * k, 0);
        java.util.Arrays.fill(exps, rows * nb, paddedRows * nb, ZERO_EXPONENT);
    }

    private static void quantizeRows(float[] x, int k, int r0, int r1, int[] q, int[] exps) {
        int nb = blocks(k), lanes = FLOATS.length();
        boolean vector = BLOCK % lanes == 0;
        for (int r = r0; r < r1; r++) {
            int o = r * k;
            for (int b = 0; b < nb; b++) {
                int c0 = o + b * BLOCK, c1 = Math.min(o + k, c0 + BLOCK);
                boolean full = vector && c1 - c0 == BLOCK;
                float a = 0f;
                if (full) {
                    FloatVector m = FloatVector.fromArray(FLOATS, x, c0).abs();
                    for (int c = c0 + lanes; c < c1; c += lanes) m = m.max(FloatVector.fromArray(FLOATS, x, c).abs());
                    a = m.reduceLanes(VectorOperators.MAX); // max is exact in any order; NaN propagates
                } else {
                    for (int c = c0; c < c1; c++) a = Math.max(a, Math.abs(x[c]));
                }
                if (!Float.isFinite(a)) {
                    for (int c = c0; c < c1; c++)
                        if (!Float.isFinite(x[c]))
                            throw new IllegalArgumentException("activation at row " + r + ", column " + (c - o) + " is " + x[c] + ": the MX-INT8 datapath cannot take it");
                }
                int e = exponent(a);
                exps[r * nb + b] = e;
                if (full && e >= -121) {
                    float f = Math.scalb(1f, 6 - e); // 2^-121 .. 2^127: an fp32
                    for (int c = c0; c < c1; c += lanes) {
                        FloatVector t = FloatVector.fromArray(FLOATS, x, c).mul(f);
                        t = t.add(RINT_MAGIC).sub(RINT_MAGIC).max(-QMAX).min(QMAX);
                        ((IntVector) t.convertShape(VectorOperators.F2I, INTS, 0)).intoArray(q, c);
                    }
                } else {
                    for (int c = c0; c < c1; c++) q[c] = code(x[c], e);
                }
            }
        }
    }
}
