package io.qbridge.emulator;

/**
 * How the device takes activations: INT8, symmetric, one fp32 scale per token (row of X), as
 * {@code /work/shared/specs/formats.md} §5 prescribes.
 *
 * <pre>
 *   a = max_k |x[k]|                       (fp32, exact)
 *   s = fp32(a / 127)                      (one fp32 division, round to nearest even)
 *   q[k] = clamp(rint(fp32(x[k] / s)), -127, 127)   (ties to even; -128 never produced)
 *   a row of zeros: s = 0, q = 0
 * </pre>
 * The code -128 is not used so that the grid is symmetric (as MX-INT). A non-finite activation is an
 * error: the device has no integer encoding for it.
 */
public final class ActivationQuantizer {
    public static final int QMAX = 127;

    private ActivationQuantizer() {}

    /**
     * Quantizes rows [r0, r1) of {@code x[rows][k]} into {@code q} (same layout) and {@code scales[r]}.
     */
    public static void quantize(float[] x, int k, int r0, int r1, int[] q, float[] scales) {
        for (int r = r0; r < r1; r++) {
            int o = r * k;
            float a = 0f;
            for (int i = 0; i < k; i++) {
                float v = x[o + i];
                if (!Float.isFinite(v)) throw new IllegalArgumentException("activation at row " + r + ", column " + i + " is " + v + ": the INT8 datapath cannot take it");
                a = Math.max(a, Math.abs(v));
            }
            float s = a / QMAX;
            scales[r] = s;
            if (s == 0f) {
                java.util.Arrays.fill(q, o, o + k, 0);
                continue;
            }
            for (int i = 0; i < k; i++) q[o + i] = code(x[o + i], s);
        }
    }

    /** The one rounding rule: clamp(rint(x / s)) with an fp32 division. */
    public static int code(float x, float s) {
        float t = x / s;
        return (int) Math.max(-QMAX, Math.min(QMAX, Math.rint(t)));
    }
}
