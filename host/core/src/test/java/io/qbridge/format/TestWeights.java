package io.qbridge.format;

import java.util.Random;

/** Gaussian test weights with a few large outliers, as LLM weights look. */
public final class TestWeights {
    private TestWeights() {}

    public static float[] gaussianWithOutliers(int n, int k, long seed, double outlierRate) {
        Random rnd = new Random(seed);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            double v = 0.02 * rnd.nextGaussian();
            if (rnd.nextDouble() < outlierRate) v *= 8 + 8 * rnd.nextDouble();
            w[i] = (float) v;
        }
        return w;
    }
}
