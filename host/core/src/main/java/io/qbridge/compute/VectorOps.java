package io.qbridge.compute;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise and row-wise FP32 operations shared by the encoder and the decoder. Each works on one row
 * (a slice of an array) so callers decide how to fan rows out over threads.
 *
 * <p>Every result is the same bit for bit whatever the JIT has done so far: the Vector API's own
 * {@code reduceLanes(ADD)} and lanewise {@code EXP} may change their rounding between interpreted and
 * compiled code, so reductions go through {@link #hsum} (a fixed tree of lane rotations) and exponentials
 * through {@link #exp} (a polynomial in plain lanewise arithmetic, with a scalar twin that rounds the same).
 * Identical inputs therefore give identical embeddings in every process, which remote jobs rely on.
 */
public final class VectorOps {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> SI = IntVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Rotations by L/2, L/4, ..., 1 lanes for {@link #hsum}. */
    private static final VectorShuffle<Float>[] FOLDS = folds();

    private VectorOps() {}

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] folds() {
        int steps = Integer.numberOfTrailingZeros(L);
        VectorShuffle<Float>[] f = new VectorShuffle[steps];
        for (int s = 0, half = L / 2; s < steps; s++, half /= 2) {
            int h = half;
            f[s] = VectorShuffle.fromOp(S, i -> (i + h) % L);
        }
        return f;
    }

    private static final VectorSpecies<Double> SD = DoubleVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Double>[] DOUBLE_FOLDS = doubleFolds();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Double>[] doubleFolds() {
        int lanes = SD.length(), steps = Integer.numberOfTrailingZeros(lanes);
        VectorShuffle<Double>[] f = new VectorShuffle[steps];
        for (int s = 0, half = lanes / 2; s < steps; s++, half /= 2) {
            int h = half;
            f[s] = VectorShuffle.fromOp(SD, i -> (i + h) % lanes);
        }
        return f;
    }

    /** The double-precision twin of {@link #hsum(FloatVector)}, for vectors of {@link DoubleVector#SPECIES_PREFERRED}. */
    public static double hsum(DoubleVector v) {
        for (VectorShuffle<Double> f : DOUBLE_FOLDS) v = v.add(v.rearrange(f));
        return v.lane(0);
    }

    /** Sum of the lanes of {@code v} in a fixed order (pairwise folding), identical in every JIT tier. */
    public static float hsum(FloatVector v) {
        for (VectorShuffle<Float> f : FOLDS) v = v.add(v.rearrange(f));
        return v.lane(0);
    }

    // Cephes-style expf: x = n ln2 + r, exp(r) by a degree-7 polynomial, 2^n built in the exponent bits.
    private static final float EXP_HI = 88.3762626647949f, EXP_LO = -87.3365478515625f;
    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
            P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** e^x for each lane (relative error about 1e-7; inputs clamped to the normal range of float). */
    public static FloatVector exp(FloatVector x) {
        x = x.min(EXP_HI).max(EXP_LO);
        FloatVector fx = x.fma(LOG2E, 0.5f);
        FloatVector t = (FloatVector) fx.convert(VectorOperators.F2I, 0).convert(VectorOperators.I2F, 0);
        VectorMask<Float> over = t.compare(VectorOperators.GT, fx);
        FloatVector n = t.sub(FloatVector.zero(S).blend(1f, over)); // floor(x log2e + 0.5)
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, P3)).fma(r, FloatVector.broadcast(S, P4)).fma(r, FloatVector.broadcast(S, P5));
        p = p.fma(r.mul(r), r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /** The scalar twin of {@link #exp(FloatVector)}: the same operations, so the same bits. */
    public static float exp(float x) {
        x = Math.max(Math.min(x, EXP_HI), EXP_LO);
        float fx = Math.fma(x, LOG2E, 0.5f);
        float t = (float) (int) fx;
        float n = t > fx ? t - 1f : t;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(Math.fma(r, P0, P1), r, P2);
        p = Math.fma(Math.fma(Math.fma(p, r, P3), r, P4), r, P5);
        p = Math.fma(p, r * r, r) + 1f;
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /** Sum of x[o, o+n). */
    public static float sum(float[] x, int o, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) acc = acc.add(FloatVector.fromArray(S, x, o + i));
        float s = hsum(acc);
        for (; i < n; i++) s += x[o + i];
        return s;
    }

    /** Dot product of a[ao, ao+n) and b[bo, bo+n). */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        float s = hsum(acc);
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

    /** x[xo+i] /= a (a true division, not a multiplication by 1/a, so it rounds as the ONNX graph does). */
    public static void divide(float[] x, int xo, int n, float a) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).div(a).intoArray(x, xo + i);
        for (; i < n; i++) x[xo + i] /= a;
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
        float var = hsum(acc);
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
        int bound = S.loopBound(n);
        float max = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (bound > 0) {
            FloatVector mv = FloatVector.fromArray(S, x, o);
            for (i = L; i < bound; i += L) mv = mv.max(FloatVector.fromArray(S, x, o + i));
            max = mv.reduceLanes(VectorOperators.MAX); // max is exact in any order
        }
        for (; i < n; i++) max = Math.max(max, x[o + i]);
        FloatVector acc = FloatVector.zero(S);
        for (i = 0; i < bound; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, o + i).sub(max));
            e.intoArray(x, o + i);
            acc = acc.add(e);
        }
        float sum = hsum(acc);
        for (; i < n; i++) {
            float e = exp(x[o + i] - max);
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
            FloatVector e = exp(az.mul(az).neg());
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
        float erfAbs = 1f - poly * exp(-(az * az));
        return 0.5f * v * (1f + (z < 0 ? -erfAbs : erfAbs));
    }

    /** SwiGLU's gate: {@code h1[i] = silu(h1[i]) * h3[i]}. */
    public static void siluMul(float[] h1, float[] h3, int o, int n) {
        for (int i = 0; i < n; i++) {
            float v = h1[o + i];
            h1[o + i] = v * (1.0f / (1.0f + exp(-v))) * h3[o + i];
        }
    }
}
