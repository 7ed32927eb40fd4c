package io.qbridge.bench;

import io.qbridge.data.EvalCorpus;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.quant.Gptq;
import io.qbridge.quant.GptqConfig;
import io.qbridge.quant.GptqResult;
import java.util.List;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Quantization speed: all 72 linear layers of bge-small (calibration included) with MicroScopiQ's GPTQ
 * path against RTN, and the Hessian path on one 4096x4096 layer, in a 4 GiB heap on 2 threads.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dqbridge.threads=2", "-Xmx4g"})
public class QuantizeBench {
    @State(Scope.Benchmark)
    public static class Encoder {
        @Param({"microscopiq-w4", "rtn-w4g128"})
        public String recipe;
        EncoderModel fp32;
        List<int[]> calibration;

        @Setup(Level.Trial)
        public void setUp() {
            fp32 = EncoderModel.load(EncoderModel.Builtin.BGE_SMALL);
            calibration = fp32.tokenize(EvalCorpus.split(EvalCorpus.Split.CALIBRATION), null);
        }
    }

    @Benchmark
    public Object bgeSmallAllLayers(Encoder s) {
        return EncoderQuantizer.quantize(s.fp32, QuantRecipe.parse(s.recipe), s.calibration, null);
    }

    @State(Scope.Benchmark)
    public static class Large {
        static final int N = 4096, K = 4096;
        float[] w;
        double[] h;

        @Setup(Level.Trial)
        public void setUp() {
            SplittableRandom r = new SplittableRandom(42);
            w = new float[N * K];
            for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.02);
            // A well-conditioned SPD Hessian with correlated inputs: H = 2 (A^T A) + I, A random 64 x K.
            int m = 64;
            double[] a = new double[m * K];
            for (int i = 0; i < a.length; i++) a[i] = r.nextGaussian();
            h = new double[K * K];
            for (int t = 0; t < m; t++) {
                for (int i = 0; i < K; i++) {
                    double ai = a[t * K + i];
                    for (int j = 0; j < K; j++) h[i * K + j] += 2 * ai * a[t * K + j];
                }
            }
            for (int i = 0; i < K; i++) h[i * K + i] += 1;
        }
    }

    @Benchmark
    public GptqResult gptq4096x4096MicroScopiQ(Large s) {
        return Gptq.quantize(s.w, Large.N, Large.K, s.h, GptqConfig.DEFAULT, QuantFormat.parse("microscopiq-w4"));
    }
}
