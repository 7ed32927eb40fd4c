package io.qbridge.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise and row-wise FP32 operations shared by the encoder and the decoder. Each works on one row
 * (a slice of an array) so callers decide how to fan rows out over threads.
 */
public final class VectorOps {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorOps() {}

    /** Sum of x[o, o+n). */
    public static float sum(float[] x, int o, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) acc = acc.add(FloatVector.fromArray(S, x, o + i));
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += x[o + i];
        return s;
    }

    /** Dot product of a[ao, ao+n) and b[bo, bo+n). */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s = Math.fma(a[ao + i], b[bo + i], s);
        return s;
    }

    /** y[yo+i] += a * x[xo+i]. */
    public static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector av = FloatVector.broadcast(S, a);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            av.fma(FloatVector.fromArray(S, x, xo + i), FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] = Math.fma(a, x[xo + i], y[yo + i]);
    }

    /** x[xo+i] *= a. */
    public static void scale(float[] x, int xo, int n, float a) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).mul(a).intoArray(x, xo + i);
        for (; i < n; i++) x[xo + i] *= a;
    }

    /** y[i] += x[i] over whole arrays of equal length prefix n. */
    public static void addInPlace(float[] y, float[] x, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) FloatVector.fromArray(S, y, i).add(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        for (; i < n; i++) y[i] += x[i];
    }

    /** Adds a bias vector of length {@code n} to each of {@code rows} rows of y. */
    public static void addBias(float[] y, int rows, float[] bias, int n) {
        for (int r = 0; r < rows; r++) {
            int o = r * n, i = 0, bound = S.loopBound(n);
            for (; i < bound; i += L) FloatVector.fromArray(S, y, o + i).add(FloatVector.fromArray(S, bias, i)).intoArray(y, o + i);
            for (; i < n; i++) y[o + i] += bias[i];
        }
    }

    /**
     * LayerNorm of one row in place: {@code (x - mean) / sqrt(var + eps) * gamma + beta}, with the
     * population variance, as ONNX's decomposed LayerNorm (ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div) computes it.
     */
    public static void layerNorm(float[] x, int o, int n, float[] gamma, float[] beta, float eps) {
        float mean = sum(x, o, n) / n;
        FloatVector mv = FloatVector.broadcast(S, mean);
        FloatVector acc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector d = FloatVector.fromArray(S, x, o + i).sub(mv);
            d.intoArray(x, o + i);
            acc = d.fma(d, acc);
        }
        float var = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float d = x[o + i] - mean;
            x[o + i] = d;
            var += d * d;
        }
        var /= n;
        float inv = (float) (1.0 / Math.sqrt(var + eps));
        i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, o + i).mul(inv).fma(FloatVector.fromArray(S, gamma, i), FloatVector.fromArray(S, beta, i)).intoArray(x, o + i);
        }
        for (; i < n; i++) x[o + i] = x[o + i] * inv * gamma[i] + beta[i];
    }

    /** RMSNorm as llama2.c computes it: {@code out = x / sqrt(mean(x^2) + eps) * weight}. */
    public static void rmsNorm(float[] out, int oo, float[] x, int xo, float[] weight, int wo, int n, float eps) {
        float ss = dot(x, xo, x, xo, n) / n + eps;
        float inv = (float) (1.0 / Math.sqrt(ss));
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).mul(inv).mul(FloatVector.fromArray(S, weight, wo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) out[oo + i] = weight[wo + i] * (inv * x[xo + i]);
    }

    /** Numerically stable softmax of x[o, o+n) in place. */
    public static void softmax(float[] x, int o, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[o + i]);
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[o + i] - max);
            x[o + i] = e;
            sum += e;
        }
        scale(x, o, n, 1f / sum);
    }

    /**
     * GELU in its erf form, {@code 0.5 x (1 + erf(x / sqrt 2))}, as BERT's ONNX graph computes it (not the
     * tanh approximation). erf uses Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, under float
     * resolution of the result) so the whole thing vectorises; {@link Erf} is the double-precision check.
     */
    public static void gelu(float[] x, int o, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, o + i);
            FloatVector z = v.mul(0.70710678f);
            FloatVector az = z.abs();
            FloatVector t = FloatVector.broadcast(S, 1f).div(az.fma(0.3275911f, 1f));
            FloatVector poly = t.fma(1.061405429f, -1.453152027f).mul(t).add(1.421413741f).mul(t).add(-0.284496736f).mul(t).add(0.254829592f).mul(t);
            FloatVector e = az.mul(az).neg().lanewise(VectorOperators.EXP);
            FloatVector erfAbs = poly.mul(e).neg().add(1f);
            FloatVector erf = erfAbs.blend(erfAbs.neg(), z.lt(0f));
            v.mul(0.5f).mul(erf.add(1f)).intoArray(x, o + i);
        }
        for (; i < n; i++) x[o + i] = geluScalar(x[o + i]);
    }

    static float geluScalar(float v) {
        float z = v * 0.70710678f, az = Math.abs(z);
        float t = 1f / Math.fma(az, 0.3275911f, 1f);
        float poly = Math.fma(Math.fma(Math.fma(Math.fma(1.061405429f, t, -1.453152027f), t, 1.421413741f), t, -0.284496736f), t, 0.254829592f) * t;
        float erfAbs = 1f - poly * (float) Math.exp(-az * az);
        return 0.5f * v * (1f + (z < 0 ? -erfAbs : erfAbs));
    }

    /** SwiGLU's gate: {@code h1[i] = silu(h1[i]) * h3[i]}. */
    public static void siluMul(float[] h1, float[] h3, int o, int n) {
        for (int i = 0; i < n; i++) {
            float v = h1[o + i];
            h1[o + i] = v * (1.0f / (1.0f + (float) Math.exp(-v))) * h3[o + i];
        }
    }
}
