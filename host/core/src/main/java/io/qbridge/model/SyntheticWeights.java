package io.qbridge.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Made-up weights for the JIT warm-up models (encoder and decoder): only their shapes matter, never their values. */
public final class SyntheticWeights {
    private SyntheticWeights() {}

    /** {@code n} values uniform in [-0.1, 0.1). */
    public static float[] small(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((rnd.nextDouble() - 0.5) * 0.2);
        return a;
    }

    /** {@code n} ones (norm gains). */
    public static float[] ones(int n) {
        float[] a = new float[n];
        Arrays.fill(a, 1f);
        return a;
    }
}
