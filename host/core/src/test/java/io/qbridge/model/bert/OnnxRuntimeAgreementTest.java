package io.qbridge.model.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.qbridge.data.EvalCorpus;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The FP32 encoder against Microsoft's ONNX Runtime on the same ONNX file and 64 real sentences: ORT runs
 * the graph as exported (padded batch with an attention mask), we run our own forward pass; both
 * sentence vectors are pooled the same way and must agree to cosine >= 0.99999 and max |diff| <= 1e-4.
 */
class OnnxRuntimeAgreementTest {
    @ParameterizedTest
    @EnumSource(EncoderModel.Builtin.class)
    void embeddingsAgreeWithOnnxRuntime(EncoderModel.Builtin builtin) throws Exception {
        EncoderModel model = EncoderModel.load(builtin);
        List<String> sentences = EvalCorpus.split(EvalCorpus.Split.BENCH);
        List<int[]> ids = model.tokenize(sentences, null);
        float[][] ours = model.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
        float[][] theirs = OnnxRuntimeRunner.embed(EncoderModel.onnxBytes(builtin), ids, model.encoder().config().hidden(), model.pooling(), 2);

        double minCos = 1, maxDiff = 0;
        for (int s = 0; s < ours.length; s++) {
            double dot = 0, na = 0, nb = 0;
            for (int i = 0; i < ours[s].length; i++) {
                dot += (double) ours[s][i] * theirs[s][i];
                na += (double) ours[s][i] * ours[s][i];
                nb += (double) theirs[s][i] * theirs[s][i];
                maxDiff = Math.max(maxDiff, Math.abs(ours[s][i] - theirs[s][i]));
            }
            minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
        }
        System.out.printf("%s vs ONNX Runtime on %d sentences: min cosine %.9f, max |diff| %.3g%n", builtin.alias, ours.length, minCos, maxDiff);
        assertTrue(minCos >= 0.99999, "min cosine " + minCos);
        assertTrue(maxDiff <= 1e-4, "max abs diff " + maxDiff);
    }

    /** Runs the ONNX graph with ONNX Runtime on a padded batch and pools its last hidden states. */
    static final class OnnxRuntimeRunner {
        static float[][] embed(byte[] onnx, List<int[]> ids, int hidden, Pooling pooling, int threads) throws Exception {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                opts.setIntraOpNumThreads(threads);
                opts.setInterOpNumThreads(1);
                try (OrtSession session = env.createSession(onnx, opts)) {
                    return run(env, session, ids, hidden, pooling);
                }
            }
        }

        static float[][] run(OrtEnvironment env, OrtSession session, List<int[]> ids, int hidden, Pooling pooling) throws Exception {
            int batch = ids.size();
            int maxLen = ids.stream().mapToInt(a -> a.length).max().orElse(0);
            long[] inputIds = new long[batch * maxLen], mask = new long[batch * maxLen], types = new long[batch * maxLen];
            int[] lengths = new int[batch];
            for (int b = 0; b < batch; b++) {
                int[] s = ids.get(b);
                lengths[b] = s.length;
                for (int t = 0; t < s.length; t++) {
                    inputIds[b * maxLen + t] = s[t];
                    mask[b * maxLen + t] = 1;
                }
            }
            long[] shape = {batch, maxLen};
            try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(inputIds), shape);
                 OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                 OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape);
                 OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", m, "token_type_ids", t))) {
                FloatBuffer out = ((OnnxTensor) r.get(0)).getFloatBuffer();
                float[] states = new float[batch * maxLen * hidden];
                out.get(states);
                // Repack without padding rows so the project's own pooling applies unchanged.
                int total = 0;
                for (int len : lengths) total += len;
                float[] packed = new float[total * hidden];
                int[] offsets = new int[batch];
                int o = 0;
                for (int b = 0; b < batch; b++) {
                    offsets[b] = o;
                    System.arraycopy(states, b * maxLen * hidden, packed, o * hidden, lengths[b] * hidden);
                    o += lengths[b];
                }
                return BertEncoder.pool(new BertEncoder.HiddenStates(packed, offsets, lengths, hidden), pooling);
            }
        }
    }
}
