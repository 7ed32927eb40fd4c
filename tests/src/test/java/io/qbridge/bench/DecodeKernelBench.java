package io.qbridge.bench;

import io.qbridge.compute.MatMul;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.emulator.MatVecKernel;
import io.qbridge.format.QuantFormat;
import io.qbridge.quant.Rtn;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One token through the seven linear layers of one block of the 42M llama2.c shape (q 512x512, k and v 256x512,
 * o 512x512, w1 and w3 1376x512, w2 512x1376), one call each as the decoder makes them: on the emulator with the
 * decode kernel ({@link MatVecKernel}), on the emulator's tiled datapath (the kernel switched off), and in FP32
 * ({@code MatMul.outIn}, the host decoder's product). Also the classifier (32000x512) alone, FP32 and on the
 * decode kernel. Explains {@code generate}'s whole-process figures (BENCHMARKS.md §2b).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dqbridge.threads=2"})
public class DecodeKernelBench {
    static final int[][] BLOCK = {{512, 512}, {256, 512}, {256, 512}, {512, 512}, {1376, 512}, {1376, 512}, {512, 1376}};

    @State(Scope.Benchmark)
    public static class Layers {
        @Param({"rtn-w4g128", "microscopiq-w4", "mxint8"})
        public String format;
        EmulatorAccelerator fast, tiled;
        LayerHandle[] hf, ht;
        LayerHandle cf;
        float[][] fp32;
        float[] classifier, x512, x1376, y;

        @Setup(Level.Trial)
        public void setUp() {
            QuantFormat f = QuantFormat.parse(format);
            fast = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), true);
            tiled = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()), false);
            hf = new LayerHandle[BLOCK.length];
            ht = new LayerHandle[BLOCK.length];
            fp32 = new float[BLOCK.length][];
            SplittableRandom rnd = new SplittableRandom(42);
            for (int i = 0; i < BLOCK.length; i++) {
                int n = BLOCK[i][0], k = BLOCK[i][1];
                fp32[i] = gaussian(rnd, n * k, 0.05);
                var p = f.pack(Rtn.quantize(f, fp32[i], n, k).tensor());
                hf[i] = fast.load(p, null);
                ht[i] = tiled.load(p, null);
            }
            classifier = gaussian(rnd, 32000 * 512, 0.05);
            cf = fast.load(f.pack(Rtn.quantize(f, classifier, 32000, 512).tensor()), null);
            x512 = gaussian(rnd, 512, 1);
            x1376 = gaussian(rnd, 1376, 1);
            y = new float[32000];
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            fast.close();
            tiled.close();
        }

        float[] input(int i) { return BLOCK[i][1] == 512 ? x512 : x1376; }

        static float[] gaussian(SplittableRandom rnd, int n, double sd) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                double g = rnd.nextDouble() + rnd.nextDouble() + rnd.nextDouble() - 1.5;
                a[i] = (float) (g * 2 * sd * (rnd.nextInt(100) == 0 ? 8 : 1));
            }
            return a;
        }
    }

    @Benchmark
    public float blockOnDecodeKernel(Layers s) {
        for (int i = 0; i < BLOCK.length; i++) s.fast.run(s.hf[i], s.input(i), 1, s.y);
        return s.y[0];
    }

    @Benchmark
    public float blockOnTiledDatapath(Layers s) {
        for (int i = 0; i < BLOCK.length; i++) s.tiled.run(s.ht[i], s.input(i), 1, s.y);
        return s.y[0];
    }

    @Benchmark
    public float blockInFp32(Layers s) {
        for (int i = 0; i < BLOCK.length; i++) MatMul.outIn(s.input(i), 1, BLOCK[i][1], s.fp32[i], 0, BLOCK[i][0], s.y);
        return s.y[0];
    }

    @Benchmark
    public float classifierOnDecodeKernel(Layers s) {
        s.fast.run(s.cf, s.x512, 1, s.y);
        return s.y[0];
    }

    @Benchmark
    public float classifierInFp32(Layers s) {
        MatMul.outIn(s.x512, 1, 512, s.classifier, 0, 32000, s.y);
        return s.y[0];
    }
}
