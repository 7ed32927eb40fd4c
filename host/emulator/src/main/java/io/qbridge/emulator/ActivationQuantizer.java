package io.qbridge.emulator;

import io.qbridge.device.ActivationMode;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * How the device takes activations by default ({@link ActivationMode#INT8_PER_TOKEN}): INT8, symmetric, one
 * fp32 scale per token (row of X), as {@code docs/emulator.md} §1 prescribes. The other mode,
 * MX-INT8 blocks of 32, is {@link MxActivationQuantizer}.
 *
 * <pre>
 *   a = max_k |x[k]|                       (fp32, exact)
 *   s = fp32(a / 127)                      (one fp32 division, round to nearest even)
 *   q[k] = clamp(rint(fp32(x[k] / s)), -127, 127)   (ties to even; -128 never produced)
 *   a row of zeros: s = 0, q = 0
 * </pre>
 * The code -128 is not used so that the grid is symmetric (as MX-INT). A non-finite activation is an
 * error: the device has no integer encoding for it. The vector loop computes exactly this rule: fp32
 * division, rint by the 1.5 * 2^23 add-subtract (exact round-half-even below 2^22), clamp.
 */
public final class ActivationQuantizer {
    public static final int QMAX = 127;

    private ActivationQuantizer() {}

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    /** Shorts as many as FLOATS has lanes. */
    private static final VectorSpecies<Short> SHORTS_PER_FLOAT_VECTOR = VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    /** 1.5 * 2^23: adding and subtracting it rounds an fp32 of magnitude below 2^22 to an integer, ties to even (= rint). */
    private static final float RINT_MAGIC = 12582912f;

    /**
     * Quantizes rows [0, rows) of {@code x[rows][k]} into {@code q} (same layout), the same codes as floats
     * into {@code qf} (may be null; the fp32-exact kernel reads them) and the scales into {@code scales[r]}.
     * Rows [rows, paddedRows) of q and qf are set to zero.
     */
    public static void quantize(float[] x, int k, int rows, int paddedRows, int[] q, float[] qf, float[] scales) {
        quantize(x, k, rows, paddedRows, q, qf, null, scales);
    }

    /**
     * As above, and the same codes as 16-bit values into {@code qs} (may be null; the INT16 kernel reads them).
     * {@code q} may be null when {@code qs} is given.
     */
    public static void quantize(float[] x, int k, int rows, int paddedRows, int[] q, float[] qf, short[] qs, float[] scales) {
        io.qbridge.compute.Parallel.forRange(rows, Math.max(1, 16384 / Math.max(1, k)), (r0, r1) -> quantizeRows(x, k, r0, r1, q, qf, qs, scales));
        if (q != null) java.util.Arrays.fill(q, rows * k, paddedRows * k, 0);
        if (qf != null) java.util.Arrays.fill(qf, rows * k, paddedRows * k, 0f);
        if (qs != null) java.util.Arrays.fill(qs, rows * k, paddedRows * k, (short) 0);
    }

    /** Quantizes rows [r0, r1) on the calling thread (the INT16 kernel calls it per panel, see Datapath#computeInt16). */
    static void quantizeRows(float[] x, int k, int r0, int r1, int[] q, float[] qf, short[] qs, float[] scales) {
        int upper = FLOATS.loopBound(k);
        for (int r = r0; r < r1; r++) {
            int o = r * k;
            FloatVector m = FloatVector.zero(FLOATS);
            int i = 0;
            for (; i < upper; i += FLOATS.length()) m = m.max(FloatVector.fromArray(FLOATS, x, o + i).abs());
            float a = m.reduceLanes(VectorOperators.MAX); // max is exact in any order
            for (; i < k; i++) a = Math.max(a, Math.abs(x[o + i]));
            if (!Float.isFinite(a)) {
                for (int j = 0; j < k; j++)
                    if (!Float.isFinite(x[o + j])) throw new IllegalArgumentException("activation at row " + r + ", column " + j + " is " + x[o + j] + ": the INT8 datapath cannot take it");
            }
            float s = a / QMAX;
            scales[r] = s;
            if (s == 0f) {
                if (q != null) java.util.Arrays.fill(q, o, o + k, 0);
                if (qf != null) java.util.Arrays.fill(qf, o, o + k, 0f);
                if (qs != null) java.util.Arrays.fill(qs, o, o + k, (short) 0);
                continue;
            }
            i = 0;
            for (; i < upper; i += FLOATS.length()) {
                FloatVector t = FloatVector.fromArray(FLOATS, x, o + i).div(s);
                t = t.add(RINT_MAGIC).sub(RINT_MAGIC).max(-QMAX).min(QMAX);
                if (qf != null) t.intoArray(qf, o + i);
                if (q != null) ((IntVector) t.convertShape(VectorOperators.F2I, INTS, 0)).intoArray(q, o + i);
                if (qs != null) ((ShortVector) t.convertShape(VectorOperators.F2S, SHORTS_PER_FLOAT_VECTOR, 0)).intoArray(qs, o + i);
            }
            for (; i < k; i++) {
                int v = code(x[o + i], s);
                if (q != null) q[o + i] = v;
                if (qf != null) qf[o + i] = v;
                if (qs != null) qs[o + i] = (short) v;
            }
        }
    }

    /** Quantizes rows [0, rows) into int codes only. */
    public static void quantize(float[] x, int k, int rows, int[] q, float[] scales) {
        quantize(x, k, rows, rows, q, null, scales);
    }

    /** The one rounding rule: clamp(rint(x / s)) with an fp32 division. */
    public static int code(float x, float s) {
        float t = x / s;
        return (int) Math.max(-QMAX, Math.min(QMAX, Math.rint(t)));
    }
}
