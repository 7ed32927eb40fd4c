package io.qbridge.pipeline;

import io.qbridge.compute.MatMul;
import io.qbridge.compute.VectorOps;
import java.util.List;
import java.util.Map;

/**
 * Quality metrics for a quantized encoder against its FP32 original.
 *
 * <ul>
 *   <li>bits/weight: every stored bit of every packed layer (codes, scales, metadata) over all weights;
 *       biases, embeddings and norms stay FP32 and are not counted (they are the same for every format);</li>
 *   <li>weight SQNR: {@code 10 log10(sum W^2 / sum (W - Q)^2)} over all linear layers;</li>
 *   <li>layer-output error: per layer {@code ||X (W - Q)^T||_F / ||X W^T||_F} on held-out activations X
 *       recorded from the FP32 model, averaged over layers;</li>
 *   <li>embedding cosine: mean cosine between FP32 and quantized sentence vectors;</li>
 *   <li>recall@10: for each query, the share of its 10 FP32 nearest neighbours in the retrieval set that
 *       the quantized model also ranks in its top 10 (queries and set both embedded by the model under test).</li>
 * </ul>
 */
public final class QualityReport {
    private QualityReport() {}

    public static double bitsPerWeight(List<QuantizedLayer> layers) {
        long bits = 0, weights = 0;
        for (QuantizedLayer q : layers) {
            bits += 8L * q.packed().bytes().length;
            weights += (long) q.packed().n() * q.packed().k();
        }
        return (double) bits / weights;
    }

    public static long packedBytes(List<QuantizedLayer> layers) {
        long b = 0;
        for (QuantizedLayer q : layers) b += q.packed().bytes().length;
        return b;
    }

    /** SQNR in dB of the dequantized weights against the originals ({@code original} maps layer name to [N][K]). */
    public static double weightSqnrDb(List<QuantizedLayer> layers, Map<String, float[]> original) {
        double signal = 0, noise = 0;
        for (QuantizedLayer q : layers) {
            float[] w = original.get(q.name());
            for (int i = 0; i < w.length; i++) {
                double d = w[i] - q.dequantized()[i];
                signal += (double) w[i] * w[i];
                noise += d * d;
            }
        }
        return 10 * Math.log10(signal / noise);
    }

    /**
     * The two sums of {@code ||X (W - Q)^T||_F^2} and {@code ||X W^T||_F^2} for activations {@code x} of
     * {@code rows} rows (summed over batches, their ratio's square root is the relative output error).
     */
    public static double[] outputErrorSums(float[] x, int rows, float[] w, float[] q, int n, int k) {
        float[] yw = new float[rows * n], yq = new float[rows * n];
        MatMul.outIn(x, rows, k, w, 0, n, yw);
        MatMul.outIn(x, rows, k, q, 0, n, yq);
        double num = 0, den = 0;
        for (int i = 0; i < yw.length; i++) {
            double d = yw[i] - yq[i];
            num += d * d;
            den += (double) yw[i] * yw[i];
        }
        return new double[] {num, den};
    }

    /** Mean cosine between matching rows (both sets are unit vectors, as the encoders produce). */
    public static double meanCosine(float[][] a, float[][] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double dot = VectorOps.dot(a[i], 0, b[i], 0, a[i].length);
            double na = Math.sqrt(VectorOps.dot(a[i], 0, a[i], 0, a[i].length));
            double nb = Math.sqrt(VectorOps.dot(b[i], 0, b[i], 0, b[i].length));
            sum += dot / (na * nb);
        }
        return sum / a.length;
    }

    /** Indices of the {@code k} rows of {@code corpus} most similar to {@code query} (ties: lower index first). */
    static int[] topK(float[] query, float[][] corpus, int k) {
        int[] best = new int[k];
        double[] score = new double[k];
        java.util.Arrays.fill(score, Double.NEGATIVE_INFINITY);
        java.util.Arrays.fill(best, -1);
        for (int j = 0; j < corpus.length; j++) {
            double s = VectorOps.dot(query, 0, corpus[j], 0, query.length);
            if (s <= score[k - 1]) continue;
            int p = k - 1;
            while (p > 0 && s > score[p - 1]) {
                score[p] = score[p - 1];
                best[p] = best[p - 1];
                p--;
            }
            score[p] = s;
            best[p] = j;
        }
        return best;
    }

    /** Mean recall@k of the reference top-k neighbours among the test model's top-k. */
    public static double recallAtK(float[][] refQueries, float[][] refCorpus, float[][] testQueries, float[][] testCorpus, int k) {
        double sum = 0;
        for (int i = 0; i < refQueries.length; i++) {
            int[] ref = topK(refQueries[i], refCorpus, k);
            int[] got = topK(testQueries[i], testCorpus, k);
            int hit = 0;
            for (int r : ref) for (int g : got) if (r == g) hit++;
            sum += (double) hit / k;
        }
        return sum / refQueries.length;
    }
}
