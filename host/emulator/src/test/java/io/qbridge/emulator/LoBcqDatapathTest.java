package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.device.ActivationMode;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.format.LoBcqCodebooks;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.LoBcqTensor;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.quant.LoBcqDesign;
import io.qbridge.quant.LoBcqDesignConfig;
import io.qbridge.quant.Rtn;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The LO-BCQ datapaths of docs/emulator.md §8 against plain references written here: W4A4 (look-up datapath, int64
 * accumulator) and W4A8 (LO-BCQ weights, INT8 per-token activations through the ordinary datapath).
 */
class LoBcqDatapathTest {
    static float[] data(int rows, int k, long seed, double sigma) {
        Random r = new Random(seed);
        float[] x = new float[rows * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * sigma * (r.nextInt(40) == 0 ? 20 : 1) * Math.exp(3 * r.nextGaussian()) / 50);
        return x;
    }

    static PackedTensor weights(LoBcqFormat f, int n, int k, long seed) {
        float[] w = data(n, k, seed, 0.05);
        for (int c = 0; c < f.arrayScalars(); c++) w[c] = 0; // a zero array in row 0
        return f.local() ? f.pack(LoBcqDesign.quantizeLocal(f, w, n, k, LoBcqDesignConfig.SPEC).tensor()) : f.pack(Rtn.quantizeRtn(f, w, n, k));
    }

    static EmulatorAccelerator device(ActivationMode mode) {
        return new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(mode));
    }

    @ParameterizedTest(name = "{0} {1}x{2}, {3} tokens")
    @CsvSource({"lobcq-c8-a64, 40, 384, 13", "lobcq-c16-a128, 33, 256, 7", "lobcq-c16-a64, 17, 1536, 5", "lobcq-c8-a64-local, 24, 128, 9",
            "lobcq-c4-b4-a32-e8-t100-local, 9, 96, 4", "lobcq-c8-a64, 70, 172, 8", "lobcq-c16-a128, 21, 96, 3", "lobcq-c8-a64-local, 5, 100, 6"})
    void w4a4EqualsTheExactReference(String name, int n, int k, int rows) {
        LoBcqFormat f = (LoBcqFormat) QuantFormat.parse(name);
        PackedTensor p = weights(f, n, k, 7L * n + k);
        float[] x = data(rows, k, 11L * k + rows, 1.0);
        for (int c = 0; c < k; c++) x[c] = 0; // an all-zero token
        for (int c = 0; c < f.arrayScalars(); c++) x[k + c] = 0; // a zero array in token 1
        float[] bias = data(1, n, 5, 1.0);
        for (float[] b : new float[][] {null, bias}) {
            try (EmulatorAccelerator dev = device(ActivationMode.LOBCQ)) {
                LayerHandle h = dev.load(p, b);
                float[] y = new float[rows * n];
                dev.run(h, x, rows, y);
                LoBcqActivations act = LoBcqActivations.encode(dev.loBcqKernel(h).encoder(), x, rows, k);
                float[] want = reference(f, (LoBcqTensor) f.unpackCodes(p), act, rows, b);
                for (int i = 0; i < y.length; i++)
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), "token " + i / n + " output " + i % n + ": " + want[i] + " vs " + y[i]);
                for (int j = 0; j < n; j++) assertEquals(b == null ? 0f : b[j], y[j], "the zero token gives the bias");
            }
        }
    }

    /**
     * Independent of LoBcqWeights/LoBcqKernel: the weights from the format's unpacker, each operand's exact value
     * s * CB[sel][idx] in BigDecimal, the exact dot product, then the output rule of §8b on ACC = dot * 2^18.
     */
    static float[] reference(LoBcqFormat f, LoBcqTensor wt, LoBcqActivations act, int rows, float[] bias) {
        LoBcqCodebooks cb = f.codebooksOf(wt);
        int n = wt.n(), k = wt.k(), la = f.arrayScalars(), na = (k + la - 1) / la, lb = f.blockScalars(), nbA = la / lb;
        float[] y = new float[rows * n];
        for (int m = 0; m < rows; m++)
            for (int j = 0; j < n; j++) {
                BigDecimal dot = BigDecimal.ZERO;
                for (int c = 0; c < k; c++) {
                    double sw = LoBcqFormat.e4m3(wt.scales()[j * na + c / la] & 0xFF), sa = LoBcqFormat.e4m3(act.scales()[m * na + c / la] & 0xFF);
                    int ew = cb.entry(wt.selectors()[j * na * nbA + c / lb], wt.indices()[j * k + c]);
                    int ea = cb.entry(act.sel()[m * na * nbA + c / lb], act.idx()[m * k + c]);
                    dot = dot.add(new BigDecimal(sw * ew).multiply(new BigDecimal(sa * ea)));
                }
                BigDecimal acc = dot.multiply(BigDecimal.valueOf(1L << 18));
                long accLong = acc.longValueExact(); // the scales are >= 2^-9 each, so 2^18 makes the sum an integer
                assertTrue(Math.abs(accLong) < (1L << 53), "ACC bound");
                float v = (float) accLong * 0x1p-18f * wt.rowScales()[j] * act.g()[m];
                y[m * n + j] = bias == null ? v : v + bias[j];
            }
        return y;
    }

    @Test
    void activationEncoderEqualsTheWeightQuantizerOnTheSameRows() {
        // The online encoder (LoBcqEncoder.encodeRow) and the offline column quantizer must make the same choices.
        LoBcqFormat f = LoBcqFormat.C8_A64;
        int rows = 9, k = 384;
        float[] x = data(rows, k, 3, 1.0);
        LoBcqActivations act = LoBcqActivations.encode(new io.qbridge.format.LoBcqEncoder(f, f.universalCodebooks()), x, rows, k);
        LoBcqTensor t = (LoBcqTensor) Rtn.quantizeRtn(f, x, rows, k);
        assertArrayEquals(t.rowScales(), act.g());
        assertArrayEquals(t.scales(), act.scales());
        assertArrayEquals(t.selectors(), act.sel());
        assertArrayEquals(t.indices(), act.idx());
    }

    @ParameterizedTest(name = "K={0}")
    @CsvSource({"384", "172"}) // 172: a partial last array, the W4A8 datapath's last block shorter
    void w4a8EqualsTheExactReference(int k) {
        LoBcqFormat f = LoBcqFormat.C8_A64;
        int n = 48, rows = 11;
        PackedTensor p = weights(f, n, k, 5);
        float[] x = data(rows, k, 9, 1.0);
        float[] bias = data(1, n, 2, 1.0);
        float[] wExact = exactWeights(f, (LoBcqTensor) f.unpackCodes(p));
        int[] q = new int[rows * k];
        float[] xs = new float[rows];
        ActivationQuantizer.quantize(x, k, rows, q, xs);
        try (EmulatorAccelerator dev = device(ActivationMode.INT8_PER_TOKEN)) {
            LayerHandle h = dev.load(p, bias);
            float[] y = new float[rows * n];
            dev.run(h, x, rows, y);
            for (int m = 0; m < rows; m++)
                for (int j = 0; j < n; j++) {
                    BigDecimal s = BigDecimal.ZERO;
                    for (int c = 0; c < k; c++) s = s.add(new BigDecimal(wExact[j * k + c] == 0 ? 0 : exactWeight(f, (LoBcqTensor) f.unpackCodes(p), j, c)).multiply(BigDecimal.valueOf(q[m * k + c])));
                    float want = Datapath.finish(s.doubleValue(), xs[m], bias[j], true);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(y[m * n + j]), "token " + m + " output " + j);
                }
        }
    }

    static float[] exactWeights(LoBcqFormat f, LoBcqTensor t) {
        return f.dequantize(t);
    }

    /** g * s * entry exactly (double: 24 + 4 + 8 significant bits). */
    static double exactWeight(LoBcqFormat f, LoBcqTensor t, int r, int c) {
        int la = f.arrayScalars(), na = (t.k() + la - 1) / la, nbA = la / f.blockScalars();
        int code = t.scales()[r * na + c / la] & 0xFF;
        int e = f.codebooksOf(t).entry(t.selectors()[(r * na + c / la) * nbA + (c % la) / f.blockScalars()], t.indices()[r * t.k() + c]);
        return (double) t.rowScales()[r] * LoBcqFormat.e4m3(code) * e;
    }

    @Test
    void w4a4IsCloseToTheFloatProductOfItsOwnDequantizedOperands() {
        LoBcqFormat f = LoBcqFormat.C8_A64;
        int n = 32, k = 384, rows = 6;
        PackedTensor p = weights(f, n, k, 8);
        float[] x = data(rows, k, 4, 1.0);
        float[] w = f.dequantize(p);
        try (EmulatorAccelerator dev = device(ActivationMode.LOBCQ)) {
            LayerHandle h = dev.load(p, null);
            float[] y = new float[rows * n];
            dev.run(h, x, rows, y);
            float[] xq = LoBcqFormat.C8_A64.dequantize(Rtn.quantizeRtn(f, x, rows, k));
            for (int m = 0; m < rows; m++)
                for (int j = 0; j < n; j++) {
                    double s = 0, abs = 0;
                    for (int c = 0; c < k; c++) { s += (double) w[j * k + c] * xq[m * k + c]; abs += Math.abs((double) w[j * k + c] * xq[m * k + c]); }
                    assertEquals(s, y[m * n + j], 1e-6 * abs + 1e-30, "token " + m + " output " + j);
                }
        }
    }

    @Test
    void lobcqActivationsNeedLoBcqWeightsAndFiniteInput() {
        try (EmulatorAccelerator dev = device(ActivationMode.LOBCQ)) {
            QuantFormat mx = QuantFormat.parse("mxfp4");
            PackedTensor p = mx.pack(Rtn.quantizeRtn(mx, data(4, 64, 1, 1), 4, 64));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.load(p, null));
            assertEquals("--activations lobcq needs LO-BCQ weights (lobcq-…), got mxfp4", e.getMessage());
            LayerHandle h = dev.load(weights(LoBcqFormat.C8_A64, 4, 64, 1), null);
            float[] x = new float[2 * 64];
            x[64 + 5] = Float.POSITIVE_INFINITY;
            e = assertThrows(IllegalArgumentException.class, () -> dev.run(h, x, 2, new float[8]));
            assertTrue(e.getMessage().contains("activation row 1") && e.getMessage().contains("column 5"), e.getMessage());
        }
    }
}
