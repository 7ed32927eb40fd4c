package io.qbridge.emulator;

import io.qbridge.device.PerfConfig;
import io.qbridge.device.ActivationMode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.qbridge.device.LayerHandle;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.format.TestWeights;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * MX-INT8 activations (docs/emulator.md §1b): the scalar rule, the vector quantizer against it, and the
 * MX kernel against the exact reference for every format, bit for bit (asymmetric INT: within the bound).
 */
class MxActivationTest {
    static EmulatorConfig mxConfig() {
        return EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(ActivationMode.MXINT8_BLOCK32);
    }

    /** Runs one layer with MX-INT8 activations and the reference; returns the outputs that differ bitwise. */
    static int check(PackedTensor p, float[] x, int rows, float[] bias, String what) {
        try (EmulatorAccelerator dev = new EmulatorAccelerator(mxConfig())) {
            LayerHandle h = dev.load(p, bias);
            float[] y = new float[rows * p.n()];
            dev.run(h, x, rows, y);
            int k = p.k();
            int[] q = new int[rows * k], exps = new int[rows * MxActivationQuantizer.blocks(k)];
            scalarQuantize(x, k, rows, q, exps);
            ExactReference.Result ref = ExactReference.runMx(p, q, exps, rows, bias);
            int pieces = dev.mxKernel(h).pieces();
            boolean rounds = ExactReference.hardwareRounds(p);
            int differ = 0;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < p.n(); j++) {
                    int i = r * p.n() + j;
                    float a = y[i], b = ref.y()[i];
                    if (Float.floatToIntBits(a) == Float.floatToIntBits(b)) continue;
                    differ++;
                    if (!rounds && pieces == 1) fail(what + ": single-piece output [" + r + "][" + j + "] must be bit-exact: " + a + " vs " + b);
                    double tol = ExactReference.bound(pieces, ref.absSum()[i], 1f, b, bias == null ? 0f : bias[j], rounds);
                    if (!(Math.abs((double) a - b) <= tol))
                        fail(what + ": output [" + r + "][" + j + "] = " + a + ", reference " + b + ", |diff| " + Math.abs((double) a - b) + " > bound " + tol);
                }
            return differ;
        }
    }

    /** The definition, element by element: X from the block's max magnitude, each code by the scalar rule. */
    static void scalarQuantize(float[] x, int k, int rows, int[] q, int[] exps) {
        int nb = MxActivationQuantizer.blocks(k);
        for (int r = 0; r < rows; r++)
            for (int b = 0; b < nb; b++) {
                int c0 = r * k + b * 32, c1 = Math.min(r * k + k, c0 + 32);
                float a = 0;
                for (int c = c0; c < c1; c++) a = Math.max(a, Math.abs(x[c]));
                int e = MxActivationQuantizer.exponent(a);
                exps[r * nb + b] = e;
                for (int c = c0; c < c1; c++) q[c] = MxActivationQuantizer.code(x[c], e);
            }
    }

    /**
     * Heavy-tailed activations whose blocks span a wide range of exponents (2^-30 .. 2^30 between blocks,
     * plus per-element outliers), with an all-zero token, an all-zero block and a block of subnormals.
     */
    static float[] spreadActivations(int rows, int k, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[rows * k];
        for (int r = 0; r < rows; r++)
            for (int b = 0; b * 32 < k; b++) {
                float scale = (float) Math.scalb(1.0, rnd.nextInt(61) - 30);
                for (int c = b * 32; c < Math.min(k, b * 32 + 32); c++)
                    x[r * k + c] = (float) (rnd.nextGaussian() * scale * (rnd.nextDouble() < 0.02 ? 50 : 1));
            }
        if (rows > 1) java.util.Arrays.fill(x, k, 2 * k, 0f); // an all-zero token
        if (k > 40) java.util.Arrays.fill(x, 32, 40, 0f);
        if (k > 64) java.util.Arrays.fill(x, 0, 32, 0f); // an all-zero block
        if (rows > 2 && k > 64) for (int c = 32; c < 64; c++) x[2 * k + c] = Float.MIN_VALUE * (c - 40); // subnormals: X = -127
        return x;
    }

    @Test
    void everyFormatMatchesTheExactReferenceOnRandomShapes() {
        Random rnd = new Random(23);
        for (String id : EmulatorExactnessTest.FORMATS) {
            QuantFormat f = QuantFormat.parse(id);
            for (int trial = 0; trial < 3; trial++) {
                int n = 1 + rnd.nextInt(40) + (trial == 0 ? 128 : 0); // trial 0: a full 128-output tile plus a partial one
                int k = f instanceof MicroScopiQFormat m ? m.blockSize() * (1 + rnd.nextInt(20)) : 1 + rnd.nextInt(300);
                if (trial == 2 && !(f instanceof MicroScopiQFormat)) k = 257; // odd: partial last weight block and activation block
                int rows = 1 + rnd.nextInt(9);
                float[] w = TestWeights.gaussianWithOutliers(n, k, rnd.nextLong(), 0.03);
                float[] bias = trial == 1 ? null : TestWeights.gaussianWithOutliers(1, n, rnd.nextLong(), 0);
                PackedTensor p = EmulatorExactnessTest.pack(f, w, n, k);
                float[] x = trial == 0 ? EmulatorExactnessTest.activations(rows, k, rnd.nextLong()) : spreadActivations(rows, k, rnd.nextLong());
                int differ = check(p, x, rows, bias, id + " [" + n + "x" + k + "] x " + rows);
                if (!ExactReference.hardwareRounds(p)) assertEquals(0, differ, id + ": outputs not bit-exact");
            }
        }
    }

    @Test
    void oddGroupSizesCutPiecesAcrossActivationBlocks() {
        Random rnd = new Random(29);
        for (String id : List.of("rtn-w3g7", "rtn-w8g33", "rtn-w2g5", "int3-asym-g9", "int8-asym-g64", "fineq-g10-d3.0-s8")) {
            QuantFormat f = QuantFormat.parse(id);
            int n = 7 + rnd.nextInt(30), k = 31 + rnd.nextInt(90), rows = 5;
            PackedTensor p = EmulatorExactnessTest.pack(f, TestWeights.gaussianWithOutliers(n, k, rnd.nextLong(), 0.05), n, k);
            int differ = check(p, spreadActivations(rows, k, rnd.nextLong()), rows, null, id);
            if (!ExactReference.hardwareRounds(p)) assertEquals(0, differ, id);
        }
        // the pieces are the cuts of both grids: g = 7 over 32-blocks in K = 64 cuts at 7, 14, ..., 63 and 32
        assertEquals(64 / 7 + 1 + 1, MxActivationKernel.pieces(64, 7));
        assertEquals(8, MxActivationKernel.pieces(128, 16));
        assertEquals(4, MxActivationKernel.pieces(128, 128));
        assertEquals(9, MxActivationKernel.pieces(257, 32));
    }

    @Test
    void heavyOutliersTakeTheInt64PathAndStayExact() {
        int n = 40, k = 64, rows = 6;
        float[] w = TestWeights.gaussianWithOutliers(n, k, 3, 0.1);
        for (int i = 0; i < w.length; i += 37) w[i] *= 1e4f;
        PackedTensor p = EmulatorExactnessTest.pack(QuantFormat.parse("mxfp8-e5m2"), w, n, k);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(mxConfig())) {
            assertTrue(dev.mxKernel(dev.load(p, null)).wide(), "E5M2 with 1e4 outliers needs int64 sums");
        }
        assertEquals(0, check(p, spreadActivations(rows, k, 4), rows, null, "mxfp8-e5m2 wide"));
    }

    @Test
    void theModeChangesTheResultAndTheDeviceSaysWhichItIs() {
        int n = 64, k = 256, rows = 4;
        PackedTensor p = EmulatorExactnessTest.pack(QuantFormat.parse("microscopiq-w4"), TestWeights.gaussianWithOutliers(n, k, 8, 0.03), n, k);
        float[] x = spreadActivations(rows, k, 9);
        float[] yInt8 = new float[rows * n], yMx = new float[rows * n];
        try (EmulatorAccelerator a = new EmulatorAccelerator(EmulatorConfig.defaults());
             EmulatorAccelerator b = new EmulatorAccelerator(EmulatorConfig.defaults().withActivations(ActivationMode.MXINT8_BLOCK32))) {
            a.run(a.load(p, null), x, rows, yInt8);
            b.run(b.load(p, null), x, rows, yMx);
            assertTrue(a.describe().name().contains("int8-token activations"), a.describe().name());
            assertTrue(b.describe().name().contains("mxint8 activations"), b.describe().name());
            LayerHandle h = b.load(p, null);
            assertThrows(IllegalStateException.class, () -> b.datapath(h));
        }
        assertNotEquals(java.util.Arrays.toString(yInt8), java.util.Arrays.toString(yMx));
        // with block exponents 2^60 apart, per-token INT8 flushes the small blocks to zero; MX keeps them:
        // the MX result is the closer one to the FP32 product of the dequantized weights
        float[] wd = p.format().dequantize(p);
        double errInt8 = 0, errMx = 0;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) {
                double exact = 0;
                for (int c = 0; c < k; c++) exact += (double) wd[j * k + c] * x[r * k + c];
                errInt8 += Math.abs(yInt8[r * n + j] - exact);
                errMx += Math.abs(yMx[r * n + j] - exact);
            }
        assertTrue(errMx < errInt8, "MX error " + errMx + " vs INT8 per token " + errInt8);
    }

    @Test
    void scalarRuleFollowsTheDefinition() {
        // X = floor(log2 max|x|) (emax of MX-INT8 is 0), clamped to [-127, 127]; all-zero and subnormal blocks: -127
        assertEquals(0, MxActivationQuantizer.exponent(1f));
        assertEquals(0, MxActivationQuantizer.exponent(1.999f));
        assertEquals(1, MxActivationQuantizer.exponent(2f));
        assertEquals(-3, MxActivationQuantizer.exponent(0.2f));
        assertEquals(127, MxActivationQuantizer.exponent(Float.MAX_VALUE));
        assertEquals(-126, MxActivationQuantizer.exponent(Float.MIN_NORMAL));
        assertEquals(-127, MxActivationQuantizer.exponent(Float.MIN_NORMAL / 2));
        assertEquals(-127, MxActivationQuantizer.exponent(Float.MIN_VALUE));
        assertEquals(-127, MxActivationQuantizer.exponent(0f));
        // codes on the grid 2^(X - 6), ties to even, symmetric saturation (128 -> 127, never -128)
        assertEquals(64, MxActivationQuantizer.code(1f, 0));
        assertEquals(127, MxActivationQuantizer.code(1.99f, 0));
        assertEquals(127, MxActivationQuantizer.code(1.999f, 0)); // 127.94 rounds to 128, saturates
        assertEquals(-127, MxActivationQuantizer.code(-1.999f, 0));
        assertEquals(2, MxActivationQuantizer.code(2.5f / 64, 0)); // tie to even
        assertEquals(4, MxActivationQuantizer.code(3.5f / 64, 0));
        assertEquals(-2, MxActivationQuantizer.code(-2.5f / 64, 0));
        assertEquals(0, MxActivationQuantizer.code(0.5f / 64, 0));
        assertEquals(1, MxActivationQuantizer.code(0.50001f / 64, 0));
        assertEquals(96, MxActivationQuantizer.code(3f * (float) Math.scalb(1.0, -100), -99)); // 1.5 * 2^-99 on the grid 2^-105
        assertEquals(32, MxActivationQuantizer.code((float) Math.scalb(1.0, -128), -127)); // a subnormal on the grid 2^-133
        assertEquals(0, MxActivationQuantizer.code(5 * Float.MIN_VALUE, -127)); // 5 * 2^-16 of a step
    }

    @Test
    void vectorQuantizerEqualsTheScalarRuleIncludingTiesClampingAndTinyBlocks() {
        Random rnd = new Random(31);
        for (int trial = 0; trial < 60; trial++) {
            int k = trial < 5 ? new int[] {1, 31, 32, 33, 64}[trial] : 1 + rnd.nextInt(200);
            int rows = 1 + rnd.nextInt(5);
            float[] x = new float[rows * k];
            for (int r = 0; r < rows; r++)
                for (int b = 0; b * 32 < k; b++) {
                    // the block's exponent: ordinary, near the fp32 limits, or below -121 (the vector path's fp32 factor ends there)
                    int e = switch (rnd.nextInt(4)) {
                        case 0 -> rnd.nextInt(41) - 20;
                        case 1 -> -127 + rnd.nextInt(12);
                        case 2 -> 120 + rnd.nextInt(8);
                        default -> rnd.nextInt(240) - 120;
                    };
                    int c0 = r * k + b * 32, c1 = Math.min(r * k + k, c0 + 32);
                    for (int c = c0; c < c1; c++) {
                        double v = switch (rnd.nextInt(4)) {
                            case 0 -> (rnd.nextInt(255) - 127) + 0.5;          // a tie on the grid
                            case 1 -> 127.5 + rnd.nextDouble() * 0.49;         // rounds to 128: saturates
                            case 2 -> 0;
                            default -> rnd.nextGaussian() * 40;
                        };
                        x[c] = (float) Math.scalb(v, e - 6);
                    }
                    if (rnd.nextInt(10) == 0) java.util.Arrays.fill(x, c0, c1, rnd.nextBoolean() ? 0f : -0f); // an all-zero block
                }
            int nb = MxActivationQuantizer.blocks(k), pad = rows + 3;
            int[] q = new int[pad * k], e = new int[pad * nb], qRef = new int[rows * k], eRef = new int[rows * nb];
            java.util.Arrays.fill(q, 99);
            java.util.Arrays.fill(e, 99);
            MxActivationQuantizer.quantize(x, k, rows, pad, q, e);
            scalarQuantize(x, k, rows, qRef, eRef);
            for (int i = 0; i < rows * k; i++)
                if (q[i] != qRef[i]) fail("k " + k + " element " + i + " (" + x[i] + "): vector " + q[i] + ", scalar " + qRef[i]);
            for (int i = 0; i < rows * nb; i++) assertEquals(eRef[i], e[i], "block " + i);
            for (int i = rows * k; i < pad * k; i++) assertEquals(0, q[i], "padding code");
            for (int i = rows * nb; i < pad * nb; i++) assertEquals(MxActivationQuantizer.ZERO_EXPONENT, e[i], "padding exponent");
            for (int v : q) assertTrue(v >= -127 && v <= 127, "code out of range: " + v);
        }
    }

    @Test
    void nonFiniteActivationsAreRejectedNamingTheElement() {
        int n = 8, k = 70;
        PackedTensor p = EmulatorExactnessTest.pack(QuantFormat.parse("mxfp4"), TestWeights.gaussianWithOutliers(n, k, 1, 0), n, k);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(mxConfig())) {
            LayerHandle h = dev.load(p, null);
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] x = new float[2 * k];
                x[k + 65] = bad; // row 1, column 65: the partial last block
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.run(h, x, 2, new float[2 * n]));
                assertTrue(e.getMessage().contains("row 1, column 65"), e.getMessage());
            }
        }
    }

    @Test
    void configurationNamesTheModesAndRejectsOthers() {
        assertEquals(ActivationMode.INT8_PER_TOKEN, EmulatorConfig.defaults().activations());
        assertEquals(ActivationMode.INT8_PER_TOKEN, new EmulatorConfig(PerfConfig.u55c(), List.of("mxfp4")).activations());
        assertEquals(ActivationMode.MXINT8_BLOCK32, ActivationMode.parse("mxint8"));
        assertEquals(ActivationMode.INT8_PER_TOKEN, ActivationMode.parse("INT8-Token"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ActivationMode.parse("mxint4"));
        assertEquals("unknown activation mode 'mxint4' (valid: int8-token, mxint8, lobcq, axbxp)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new EmulatorConfig(PerfConfig.u55c(), List.of("mxfp4"), null));
    }

}
