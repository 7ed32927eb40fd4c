package io.qbridge.axbxpsearch;

import io.qbridge.model.ForwardingLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.llama.LlamaDecoder;
import io.qbridge.model.llama.LlamaWeights;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The calibration input rows of every linear layer that {@link AxBxpSearch} measures its error on: the model runs on the
 * host (normally with the quantized weights dequantized, FP32 activations) while each linear layer's input rows are
 * copied, the first {@code maxRows} tokens in order, until every layer has them or the calibration data ends.
 */
public final class AxBxpCalibration {
    private AxBxpCalibration() {}

    /** Each linear layer's inputs while the calibration sentences run through the encoder, one sentence at a time. */
    public static Map<String, float[]> encoder(EncoderModel model, List<int[]> calibration, int maxRows) {
        check(calibration, maxRows, "sentences");
        Recording rec = new Recording(maxRows);
        EncoderModel recording = model.mapLinears(rec::wrap);
        for (int[] ids : calibration) {
            recording.embedIds(List.of(ids), EncoderModel.DEFAULT_BATCH_TOKENS);
            if (rec.full()) break;
        }
        return rec.rows();
    }

    /**
     * Each transformer-block linear layer's inputs (the seven projections of every block) while the calibration
     * sequences (token ids from BOS) run token by token through the decoder, as {@code generate} and the perplexity
     * evaluation run it, each sequence from an empty KV cache. The classifier is not recorded.
     */
    public static Map<String, float[]> decoder(LlamaWeights model, List<int[]> calibration, int maxRows) {
        check(calibration, maxRows, "sequences");
        Recording rec = new Recording(maxRows);
        List<String> blockLinears = model.layers().stream().flatMap(l -> l.linears().stream()).map(Linear::name).toList();
        LlamaWeights recording = model.mapLinears(lin -> blockLinears.contains(lin.name()) ? rec.wrap(lin) : lin);
        int longest = calibration.stream().mapToInt(a -> a.length).max().orElse(1);
        LlamaDecoder dec = new LlamaDecoder(recording, Math.min(longest, model.config().seqLen()));
        for (int[] seq : calibration) {
            for (int p = 0; p < seq.length && p < dec.maxSeqLen() && !rec.full(); p++) dec.forward(seq[p], p);
            if (rec.full()) break;
        }
        return rec.rows();
    }

    private static void check(List<int[]> calibration, int maxRows, String what) {
        if (maxRows < 1) throw new IllegalArgumentException("Ax-BxP search needs at least one calibration row, got " + maxRows);
        if (calibration.isEmpty()) throw new IllegalArgumentException("Ax-BxP search needs calibration " + what);
    }

    /** The rows copied so far, per layer name. */
    private static final class Recording {
        private final int maxRows;
        private final Map<String, float[]> rows = new HashMap<>();
        private final Map<String, Integer> filled = new HashMap<>();

        Recording(int maxRows) {
            this.maxRows = maxRows;
        }

        Linear wrap(Linear inner) {
            return new Recorder(inner, this);
        }

        synchronized void copy(String name, float[] x, int n, int k) {
            int have = filled.getOrDefault(name, 0), take = Math.min(n, maxRows - have);
            float[] buf = rows.computeIfAbsent(name, s -> new float[maxRows * k]);
            if (take > 0) System.arraycopy(x, 0, buf, have * k, take * k);
            filled.put(name, have + Math.max(take, 0));
        }

        synchronized boolean full() {
            if (filled.isEmpty()) return false;
            for (int f : filled.values()) if (f < maxRows) return false;
            return true;
        }

        synchronized Map<String, float[]> rows() {
            Map<String, float[]> out = new HashMap<>();
            for (Map.Entry<String, float[]> e : rows.entrySet()) {
                int k = e.getValue().length / maxRows;
                out.put(e.getKey(), Arrays.copyOf(e.getValue(), filled.get(e.getKey()) * k));
            }
            return out;
        }
    }

    /** A linear layer that copies its input rows (up to the limit) before computing as the layer it wraps. */
    private static final class Recorder extends ForwardingLinear {
        private final Recording rec;

        Recorder(Linear inner, Recording rec) {
            super(inner);
            this.rec = rec;
        }

        @Override
        public void forward(float[] x, int n, float[] y) {
            rec.copy(name(), x, n, inner.inFeatures());
            inner.forward(x, n, y);
        }
    }
}
