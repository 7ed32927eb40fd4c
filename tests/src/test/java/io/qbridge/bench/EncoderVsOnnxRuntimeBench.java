package io.qbridge.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Embedding the fixed 64-sentence Europarl set: Qbridge's FP32 encoder against ONNX Runtime on the same
 * ONNX file, both on 2 threads, in one JVM run. ORT gets the two ways a user would call it: one padded
 * batch of 64 with an attention mask, and one sentence per call (no padding).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Dqbridge.threads=2", "-Xmx4g"})
public class EncoderVsOnnxRuntimeBench {
    @Param({"bge-small"})
    public String model;

    private EncoderModel encoder;
    private List<int[]> ids;
    private OrtEnvironment env;
    private OrtSession session;
    private OnnxTensor[] padded;
    private OnnxTensor[][] single;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        EncoderModel.Builtin b = EncoderModel.Builtin.byAlias(model);
        encoder = EncoderModel.load(b);
        ids = encoder.tokenize(EvalCorpus.split(EvalCorpus.Split.BENCH), null);
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        opts.setInterOpNumThreads(1);
        opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        session = env.createSession(EncoderModel.onnxBytes(b), opts);
        padded = tensors(ids);
        single = new OnnxTensor[ids.size()][];
        for (int i = 0; i < ids.size(); i++) single[i] = tensors(List.of(ids.get(i)));
    }

    private OnnxTensor[] tensors(List<int[]> batch) throws Exception {
        int maxLen = batch.stream().mapToInt(a -> a.length).max().orElse(0);
        long[] inputIds = new long[batch.size() * maxLen], mask = new long[inputIds.length], types = new long[inputIds.length];
        for (int b = 0; b < batch.size(); b++) {
            for (int t = 0; t < batch.get(b).length; t++) {
                inputIds[b * maxLen + t] = batch.get(b)[t];
                mask[b * maxLen + t] = 1;
            }
        }
        long[] shape = {batch.size(), maxLen};
        return new OnnxTensor[] {OnnxTensor.createTensor(env, LongBuffer.wrap(inputIds), shape),
                OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape), OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape)};
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        session.close();
    }

    @Benchmark
    public float[][] qbridgeFp32() {
        return encoder.embedIds(ids, EncoderModel.DEFAULT_BATCH_TOKENS);
    }

    @Benchmark
    public Object onnxRuntimePaddedBatch() throws Exception {
        try (OrtSession.Result r = session.run(Map.of("input_ids", padded[0], "attention_mask", padded[1], "token_type_ids", padded[2]))) {
            return ((OnnxTensor) r.get(0)).getFloatBuffer().get(0);
        }
    }

    @Benchmark
    public float onnxRuntimePerSentence() throws Exception {
        float acc = 0;
        for (OnnxTensor[] t : single) {
            try (OrtSession.Result r = session.run(Map.of("input_ids", t[0], "attention_mask", t[1], "token_type_ids", t[2]))) {
                acc += ((OnnxTensor) r.get(0)).getFloatBuffer().get(0);
            }
        }
        return acc;
    }
}
