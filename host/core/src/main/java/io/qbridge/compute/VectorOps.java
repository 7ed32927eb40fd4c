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

    /** Lanes of the preferred float vector: {@link #dotColumns} works on this many columns at a time. */
    public static int lanes() {
        return L;
    }

    /**
     * {@code out[oo + t] = }{@link #dot}{@code (a, ao, column t of b, n)} for t in [0, cols), cols a multiple of
     * {@link #lanes()} L: the columns come in blocks of L, element i of column t at
     * {@code b[bo + (t / L) blockStride + i stride + t % L]} (a decoder's key cache, one column per position, in tiles
     * of L positions). Each result is rounded exactly as {@link #dot} rounds it (lane j sums {@code fma} over
     * elements j, j + L, ... in that order, then the same pairwise fold of the lanes, then the same tail), computed for
     * L columns at once instead of one dot product and one lane fold per column. {@code scratch[sco ..]} holds at
     * least {@code L * L} floats.
     */
    public static void dotColumns(float[] a, int ao, float[] b, int bo, int stride, int blockStride, int n, int cols, float[] out, int oo,
                                  float[] scratch, int sco) {
        if (L == 16 && stride == 16 && n % 16 == 0) {
            dotColumns16(a, ao, b, bo, blockStride, n, cols, out, oo);
            return;
        }
        int bound = S.loopBound(n);
        for (int t = 0; t < cols; t += L) {
            int base = bo + (t / L) * blockStride;
            for (int j = 0; j < L; j++) { // lane j of dot's accumulator, for L columns
                FloatVector acc = FloatVector.zero(S);
                for (int i = j; i < bound; i += L) acc = FloatVector.broadcast(S, a[ao + i]).fma(FloatVector.fromArray(S, b, base + i * stride), acc);
                acc.intoArray(scratch, sco + j * L);
            }
            for (int h = L / 2; h >= 1; h /= 2) { // hsum's folds: lane i + lane i + h, for the lanes lane 0 still needs
                for (int i = 0; i < h; i++) {
                    FloatVector.fromArray(S, scratch, sco + i * L).add(FloatVector.fromArray(S, scratch, sco + (i + h) * L)).intoArray(scratch, sco + i * L);
                }
            }
            FloatVector sum = FloatVector.fromArray(S, scratch, sco);
            for (int i = bound; i < n; i++) sum = FloatVector.broadcast(S, a[ao + i]).fma(FloatVector.fromArray(S, b, base + i * stride), sum);
            sum.intoArray(out, oo + t);
        }
    }

    /**
     * {@link #dotColumns} with 16 lanes (AVX-512), contiguous tiles ({@code stride} 16) and no tail: the sixteen lane
     * sums stay in registers, then the same folds (lane i + lane i + 8, + 4, + 2, + 1). 3.5x faster than the general
     * loop on one core (BENCHMARKS.md §2b, third pass).
     */
    private static void dotColumns16(float[] a, int ao, float[] b, int bo, int blockStride, int n, int cols, float[] out, int oo) {
        for (int t = 0; t < cols; t += 16) {
            int base = bo + (t / 16) * blockStride;
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
                    c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
            for (int i = 0; i < n; i += 16) {
                int o = base + i * 16, e = ao + i;
                c0 = FloatVector.broadcast(S, a[e]).fma(FloatVector.fromArray(S, b, o), c0);
                c1 = FloatVector.broadcast(S, a[e + 1]).fma(FloatVector.fromArray(S, b, o + 16), c1);
                c2 = FloatVector.broadcast(S, a[e + 2]).fma(FloatVector.fromArray(S, b, o + 32), c2);
                c3 = FloatVector.broadcast(S, a[e + 3]).fma(FloatVector.fromArray(S, b, o + 48), c3);
                c4 = FloatVector.broadcast(S, a[e + 4]).fma(FloatVector.fromArray(S, b, o + 64), c4);
                c5 = FloatVector.broadcast(S, a[e + 5]).fma(FloatVector.fromArray(S, b, o + 80), c5);
                c6 = FloatVector.broadcast(S, a[e + 6]).fma(FloatVector.fromArray(S, b, o + 96), c6);
                c7 = FloatVector.broadcast(S, a[e + 7]).fma(FloatVector.fromArray(S, b, o + 112), c7);
                c8 = FloatVector.broadcast(S, a[e + 8]).fma(FloatVector.fromArray(S, b, o + 128), c8);
                c9 = FloatVector.broadcast(S, a[e + 9]).fma(FloatVector.fromArray(S, b, o + 144), c9);
                c10 = FloatVector.broadcast(S, a[e + 10]).fma(FloatVector.fromArray(S, b, o + 160), c10);
                c11 = FloatVector.broadcast(S, a[e + 11]).fma(FloatVector.fromArray(S, b, o + 176), c11);
                c12 = FloatVector.broadcast(S, a[e + 12]).fma(FloatVector.fromArray(S, b, o + 192), c12);
                c13 = FloatVector.broadcast(S, a[e + 13]).fma(FloatVector.fromArray(S, b, o + 208), c13);
                c14 = FloatVector.broadcast(S, a[e + 14]).fma(FloatVector.fromArray(S, b, o + 224), c14);
                c15 = FloatVector.broadcast(S, a[e + 15]).fma(FloatVector.fromArray(S, b, o + 240), c15);
            }
            c0 = c0.add(c8); c1 = c1.add(c9); c2 = c2.add(c10); c3 = c3.add(c11);
            c4 = c4.add(c12); c5 = c5.add(c13); c6 = c6.add(c14); c7 = c7.add(c15);
            c0 = c0.add(c4); c1 = c1.add(c5); c2 = c2.add(c6); c3 = c3.add(c7);
            c0 = c0.add(c2); c1 = c1.add(c3);
            c0.add(c1).intoArray(out, oo + t);
        }
    }

    /**
     * {@code out[oo + i] = sum_t w[wo + t] x[xo + t stride + i]} for i in [0, n), t in [0, count): each element the
     * {@code fma} chain over t in order from +0, exactly what zeroing {@code out} and calling {@link #axpy} once per t
     * computes (attention's weighted sum of value rows), with the partial sums kept in registers instead of stored
     * and reloaded per t (3.6x faster on a head of 64 over 256 positions, one core).
     */
    public static void weightedRows(float[] w, int wo, int count, float[] x, int xo, int stride, int n, float[] out, int oo) {
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            FloatVector o0 = FloatVector.zero(S), o1 = o0, o2 = o0, o3 = o0;
            for (int t = 0; t < count; t++) {
                FloatVector wt = FloatVector.broadcast(S, w[wo + t]);
                int r = xo + t * stride + i;
                o0 = wt.fma(FloatVector.fromArray(S, x, r), o0);
                o1 = wt.fma(FloatVector.fromArray(S, x, r + L), o1);
                o2 = wt.fma(FloatVector.fromArray(S, x, r + 2 * L), o2);
                o3 = wt.fma(FloatVector.fromArray(S, x, r + 3 * L), o3);
            }
            o0.intoArray(out, oo + i);
            o1.intoArray(out, oo + i + L);
            o2.intoArray(out, oo + i + 2 * L);
            o3.intoArray(out, oo + i + 3 * L);
        }
        for (; i + L <= n; i += L) {
            FloatVector o0 = FloatVector.zero(S);
            for (int t = 0; t < count; t++) o0 = FloatVector.broadcast(S, w[wo + t]).fma(FloatVector.fromArray(S, x, xo + t * stride + i), o0);
            o0.intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            float o = 0f;
            for (int t = 0; t < count; t++) o = Math.fma(w[wo + t], x[xo + t * stride + i], o);
            out[oo + i] = o;
        }
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
