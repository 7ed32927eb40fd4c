package io.qbridge.model.llama;

import java.util.Arrays;

/**
 * Picks the next token from logits the way llama2.c's {@code run.c} does, so that a seed reproduces its
 * choices: greedy argmax when the temperature is 0; otherwise logits / temperature, softmax, one coin from
 * a xorshift64* generator per token, then either plain multinomial sampling or, when {@code 0 < topp < 1},
 * nucleus sampling over the smallest set of most likely tokens whose probabilities exceed {@code topp}.
 * Ties in the nucleus sort go to the lower id (run.c's qsort leaves them unspecified).
 */
public final class Sampler {
    private final int vocabSize;
    private final float temperature;
    private final float topp;
    private long rngState;
    /** Nucleus candidates as sortable keys: descending probability, then ascending id. */
    private final long[] candidates;

    /**
     * @param temperature 0 for greedy, else the softmax temperature
     * @param topp        nucleus threshold; outside (0, 1) samples from the full distribution
     * @param seed        the xorshift state's start; must not be 0 (the generator would stay at 0)
     */
    public Sampler(int vocabSize, float temperature, float topp, long seed) {
        if (vocabSize <= 0) throw new IllegalArgumentException("vocabSize must be positive, got " + vocabSize);
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (Float.isNaN(topp)) throw new IllegalArgumentException("topp is NaN");
        if (seed == 0 && temperature > 0) throw new IllegalArgumentException("seed must not be 0: xorshift would only produce zeros");
        this.vocabSize = vocabSize;
        this.temperature = temperature;
        this.topp = topp;
        this.rngState = seed;
        this.candidates = temperature > 0 && topp > 0 && topp < 1 ? new long[vocabSize] : null;
    }

    /** A sampler that always takes the most likely token. */
    public static Sampler greedy(int vocabSize) {
        return new Sampler(vocabSize, 0f, 0f, 0);
    }

    /** The next token. With a temperature the logits are overwritten by probabilities, as in run.c. */
    public int sample(float[] logits) {
        if (logits.length < vocabSize) throw new IllegalArgumentException("logits hold " + logits.length + " values, vocabulary " + vocabSize);
        if (temperature == 0f) return argmax(logits, vocabSize);
        for (int i = 0; i < vocabSize; i++) logits[i] /= temperature;
        softmax(logits, vocabSize);
        float coin = randomF32();
        if (topp <= 0 || topp >= 1) return sampleMultinomial(logits, vocabSize, coin);
        return sampleTopP(logits, coin);
    }

    /** The index of the largest of x[0, n); the first one on ties. */
    public static int argmax(float[] x, int n) {
        int best = 0;
        float max = x[0];
        for (int i = 1; i < n; i++) {
            if (x[i] > max) {
                max = x[i];
                best = i;
            }
        }
        return best;
    }

    /** xorshift64* (run.c's {@code random_u32}): the top 32 bits of the scrambled state. */
    int randomU32() {
        rngState ^= rngState >>> 12;
        rngState ^= rngState << 25;
        rngState ^= rngState >>> 27;
        return (int) ((rngState * 0x2545F4914F6CDD1DL) >>> 32);
    }

    /** A float in [0, 1) from the top 24 bits of {@link #randomU32}. */
    float randomF32() {
        return (randomU32() >>> 8) / 16777216.0f;
    }

    /** Softmax in float with run.c's operation order (max, exp, sequential sum, divide). */
    static void softmax(float[] x, int n) {
        float max = x[0];
        for (int i = 1; i < n; i++) if (x[i] > max) max = x[i];
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < n; i++) x[i] /= sum;
    }

    private static int sampleMultinomial(float[] probs, int n, float coin) {
        float cdf = 0f;
        for (int i = 0; i < n; i++) {
            cdf += probs[i];
            if (coin < cdf) return i;
        }
        return n - 1; // rounding left the cdf below the coin
    }

    private int sampleTopP(float[] probs, float coin) {
        int n = vocabSize;
        // A token below (1 - topp) / (n - 1) cannot be in the nucleus: drop it before sorting.
        float cutoff = (1.0f - topp) / (n - 1);
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (probs[i] >= cutoff) {
                // Probabilities are >= 0, so their bit patterns order like the values.
                candidates[count++] = ((long) (Integer.MAX_VALUE - Float.floatToRawIntBits(probs[i])) << 32) | i;
            }
        }
        Arrays.sort(candidates, 0, count);
        float cumulative = 0f;
        int last = count - 1; // rounding may keep the sum below topp: then all candidates count
        for (int i = 0; i < count; i++) {
            cumulative += probs[(int) candidates[i]];
            if (cumulative > topp) {
                last = i;
                break;
            }
        }
        float r = coin * cumulative;
        float cdf = 0f;
        for (int i = 0; i <= last; i++) {
            cdf += probs[(int) candidates[i]];
            if (r < cdf) return (int) candidates[i];
        }
        return (int) candidates[last];
    }
}
