package io.qbridge.quant;

import io.qbridge.compute.Parallel;
import io.qbridge.format.ColumnQuantizer;
import io.qbridge.format.QuantFormat;
import io.qbridge.format.QuantizedTensor;
import io.qbridge.format.Shapes;

/**
 * Round-to-nearest: the column loop of GPTQ with no error feedback and unit importance (MicroScopiQ
 * prunes by w^2, FineQ picks the encoding of lowest plain squared error).
 */
public final class Rtn {
    private Rtn() {}

    public static QuantizedTensor quantizeRtn(QuantFormat format, float[] w, int n, int k) {
        return quantize(format, w, n, k).tensor();
    }

    public static Quantized quantize(QuantFormat format, float[] w, int n, int k) {
        if (format == null) throw new IllegalArgumentException("format is null");
        Shapes.checkWeights(w, n, k);
        ColumnQuantizer q = format.columnQuantizer(n, k);
        float[] deq = new float[n * k];
        Parallel.forRange(n, Math.max(1, 65536 / k), (from, to) -> {
            double[] row = new double[k];
            for (int r = from; r < to; r++) {
                for (int c = 0; c < k; c++) row[c] = w[r * k + c];
                for (int c = 0; c < k; c++) {
                    if (q.isDecisionPoint(c)) q.prepare(r, c, row, null);
                    deq[r * k + c] = q.quantize(r, c, row[c]);
                }
            }
        });
        return new Quantized(q.finish(), deq);
    }
}
