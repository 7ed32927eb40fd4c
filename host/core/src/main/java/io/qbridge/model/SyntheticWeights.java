package io.qbridge.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Made-up weights for the JIT warm-up models (encoder and decoder): their values never reach an output, but their
 * shapes and their outliers decide which kernels a device path lays a layer out for, so the warm-up compiles those.
 */
public final class SyntheticWeights {
    private SyntheticWeights() {}

    /** {@code n} values uniform in [-0.1, 0.1). */
    public static float[] small(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((rnd.nextDouble() - 0.5) * 0.2);
        return a;
    }

    /**
     * Weights as {@link #small} makes them with about 3 % of them 8x larger. Real weights have outliers, and the emulator
     * lays out a layer by them: MicroScopiQ's layers of real models take the decode kernel's 8-bit plane and the INT16
     * tiles' side list of large weights, and with uniform weights the tiny models' layers took neither, so their
     * warm-ups compiled other kernels than the real runs took.
     */
    public static float[] withOutliers(SplittableRandom rnd, int n) {
        float[] a = small(rnd, n);
        for (int i = 0; i < n; i++) if (rnd.nextInt(32) == 0) a[i] *= 8;
        return a;
    }

    /** {@code n} ones (norm gains). */
    public static float[] ones(int n) {
        float[] a = new float[n];
        Arrays.fill(a, 1f);
        return a;
    }
}
