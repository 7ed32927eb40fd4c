package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.*;

import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.quant.Rtn;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Ax-BxP's approximate product (docs/emulator.md §9) against a reference written from the definition with base-2^K digit lists. */
class AxBxpTest {
    /** The base-2^K digits of a magnitude, least significant first, N of them. */
    static int[] digits(int m, int k) {
        int n = AxBxp.blocks(k);
        int[] d = new int[n];
        for (int i = 0; i < n; i++) { d[i] = m % (1 << k); m /= (1 << k); }
        return d;
    }

    /** Reference: digits, window by scanning from the top, products of the kept digit pairs in the mask, in long. */
    static long reference(int qx, int qw, AxBxp.Config c) {
        int k = c.x().bitBlock();
        int[] dx = digits(Math.abs(qx), k), dw = digits(Math.abs(qw), k);
        int ox = window(dx, c.x()), ow = window(dw, c.w());
        long s = 0;
        for (int a = 0; a < c.x().kept(); a++)
            for (int b = 0; b < c.w().kept(); b++)
                if (c.mask().pairs()[a][b]) s += (long) dx[ox + a] * dw[ow + b] * (long) Math.pow(2, k * (ox + ow + a + b));
        return Long.signum(qx) * Long.signum(qw) < 0 ? -s : s;
    }

    static int window(int[] d, AxBxp.Operand op) {
        int n = d.length, l = op.kept();
        if (op.window() == AxBxp.Window.STATIC) return n - l;
        int top = -1;
        for (int i = n - 1; i >= 0; i--) if (d[i] != 0) { top = i; break; }
        return top < 0 ? 0 : Math.max(0, top - l + 1);
    }

    /** The truncated operand: sign times the kept digits in place. */
    static long truncated(int q, AxBxp.Operand op) {
        int[] d = digits(Math.abs(q), op.bitBlock());
        int o = window(d, op);
        long v = 0;
        for (int a = 0; a < op.kept(); a++) v += (long) d[o + a] << (op.bitBlock() * (o + a));
        return q < 0 ? -v : v;
    }

    @Test
    void everyCodePairMatchesTheReference() {
        for (int k = 1; k <= 4; k++)
            for (int lx = 1; lx <= AxBxp.blocks(k); lx++)
                for (int lw = 1; lw <= AxBxp.blocks(k); lw++)
                    for (AxBxp.Window win : AxBxp.Window.values()) {
                        AxBxp.Config full = AxBxp.Config.full(k, lx, lw, win);
                        AxBxp.Config sig = new AxBxp.Config(full.x(), full.w(), AxBxp.Mask.significance(lx, lw, 0));
                        for (int qx = -127; qx <= 127; qx++)
                            for (int qw = -127; qw <= 127; qw += (k == 2 ? 1 : 3)) {
                                int p = AxBxp.product(qx, qw, full);
                                assertEquals(reference(qx, qw, full), p, "full " + full + " " + qx + " x " + qw);
                                // FULL is the product of the two truncated operands; all blocks kept is the exact product
                                assertEquals(truncated(qx, full.x()) * truncated(qw, full.w()), p);
                                if (full.x().exact() && full.w().exact()) assertEquals(qx * qw, p);
                                assertEquals(reference(qx, qw, sig), AxBxp.product(qx, qw, sig), "significance(0) " + qx + " x " + qw);
                            }
                    }
    }

    /** Every configuration the parser accepts, by construction: all K, L_x, L_w, windows, FULL and every SIGNIFICANCE depth. */
    static java.util.List<AxBxp.Config> allConfigs() {
        java.util.List<AxBxp.Config> out = new java.util.ArrayList<>();
        for (int k = 1; k <= 4; k++)
            for (int lx = 1; lx <= AxBxp.blocks(k); lx++)
                for (int lw = 1; lw <= AxBxp.blocks(k); lw++)
                    for (AxBxp.Window wx : AxBxp.Window.values())
                        for (AxBxp.Window ww : AxBxp.Window.values())
                            for (int d = 0; d <= lx + lw - 2; d++)
                                out.add(new AxBxp.Config(new AxBxp.Operand(k, lx, wx), new AxBxp.Operand(k, lw, ww), AxBxp.Mask.significance(lx, lw, d)));
        return out;
    }

    @Test
    void thePartsTheKernelMultipliesSumToTheProduct() {
        // every third / second code, plus the extremes and the codes around zero, where windows and signs turn
        int[] xs = java.util.stream.IntStream.concat(java.util.stream.IntStream.iterate(-127, q -> q <= 127, q -> q + 3),
                java.util.stream.IntStream.of(-126, -1, 0, 1, 126, 127)).distinct().toArray();
        int[] ws = java.util.stream.IntStream.concat(java.util.stream.IntStream.iterate(-127, q -> q <= 127, q -> q + 2),
                java.util.stream.IntStream.of(-126, 0, 126)).distinct().toArray();
        for (AxBxp.Config c : allConfigs())
            for (int qx : xs)
                for (int qw : ws) {
                    long s = 0;
                    for (int a = 0; a < c.x().kept(); a++) {
                        int xp = AxBxp.activationPart(qx, a, c), wp = AxBxp.weightPart(qw, a, c);
                        if (Math.abs(xp) > 127 || Math.abs(wp) > 127) fail("parts must fit a byte: " + xp + ", " + wp);
                        s += (long) xp * wp;
                    }
                    int x0 = qx, w0 = qw;
                    if (AxBxp.product(qx, qw, c) != s) fail(AxBxpPlan.format(c) + " " + x0 + " x " + w0 + ": parts sum to " + s + ", product " + AxBxp.product(x0, w0, c));
                }
    }

    @Test
    void canonicalStringsRoundTripAndBadOnesFailInOneLine() {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (AxBxp.Config c : allConfigs()) {
            String s = AxBxpPlan.format(c);
            assertEquals(c, AxBxpPlan.parse(s), s);
            assertEquals(s, AxBxpPlan.format(AxBxpPlan.parse(s.toUpperCase())));
            seen.add(s);
        }
        boolean[][] odd = {{true, false}, {false, true}};
        AxBxp.Config explicit = new AxBxp.Config(new AxBxp.Operand(2, 2, AxBxp.Window.DYNAMIC), new AxBxp.Operand(2, 2, AxBxp.Window.STATIC), new AxBxp.Mask(odd));
        assertEquals("k2-x2d-w2s-m1001", AxBxpPlan.format(explicit));
        assertEquals(explicit, AxBxpPlan.parse("k2-x2d-w2s-m1001"));
        assertEquals("k2-x2d-w3d-sig2", AxBxpPlan.format(new AxBxp.Config(new AxBxp.Operand(2, 2, AxBxp.Window.DYNAMIC), new AxBxp.Operand(2, 3, AxBxp.Window.DYNAMIC),
                AxBxp.Mask.significance(2, 3, 2))));
        for (String bad : new String[] {"", "k2-x2d-w2d", "k5-x1d-w1d-full", "k2-x5d-w1d-full", "k2-x2d-w2d-sig2", "k2-x2d-w2d-m101", "k2-x2d-w2d-m0000",
                "k2-x2d-w2d-m1111", "k2-x2q-w2d-full", "k2-x2d-w2d-full trailing"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AxBxpPlan.parse(bad), bad);
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().startsWith("bad Ax-BxP configuration '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void staticWindowIsLowerPrecisionFixedPoint() {
        AxBxp.Operand op = new AxBxp.Operand(2, 2, AxBxp.Window.STATIC); // keeps bits 4..7 of the magnitude
        AxBxp.Config c = new AxBxp.Config(op, new AxBxp.Operand(2, 4, AxBxp.Window.STATIC), AxBxp.Mask.full(2, 4));
        for (int q = -127; q <= 127; q++) assertEquals(Integer.signum(q) * (Math.abs(q) >> 4 << 4) * 3, AxBxp.product(q, 3, c), "q " + q);
    }

    @Test
    void theLayerDatapathEqualsTheReferenceSum() {
        QuantFormat f = QuantFormat.parse("rtn-w8g64");
        int n = 24, k = 192, rows = 5;
        Random rnd = new Random(4);
        float[] w = new float[n * k], x = new float[rows * k], bias = new float[n];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian() * 0.05f;
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian()));
        for (int i = 0; i < n; i++) bias[i] = (float) rnd.nextGaussian();
        PackedTensor p = f.pack(Rtn.quantizeRtn(f, w, n, k));
        float[] wd = f.dequantize(p);
        int[] q = new int[rows * k];
        float[] xs = new float[rows];
        ActivationQuantizer.quantize(x, k, rows, q, xs);
        AxBxp.Config c = new AxBxp.Config(new AxBxp.Operand(2, 2, AxBxp.Window.DYNAMIC), new AxBxp.Operand(2, 3, AxBxp.Window.DYNAMIC), AxBxp.Mask.significance(2, 3, 2));
        AxBxpKernel kern = new AxBxpKernel(WeightDecoder.decode(p), c);
        float[] y = new float[rows * n];
        kern.compute(q, xs, bias, rows, y);
        // reference: each weight's code recovered from its dequantized value and group scale, exact sum in BigDecimal
        short[] scales = ((io.qbridge.format.IntGroupTensor) f.unpackCodes(p)).scales();
        int diff = 0;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) {
                BigDecimal s = BigDecimal.ZERO;
                for (int c0 = 0; c0 < k; c0++) {
                    double sc = Float.float16ToFloat(scales[j * (k / 64) + c0 / 64]);
                    int code = (int) Math.rint(wd[j * k + c0] / sc);
                    s = s.add(new BigDecimal(sc).multiply(BigDecimal.valueOf(reference(q[r * k + c0], code, c))));
                }
                float want = Datapath.finish(s.doubleValue(), xs[r], bias[j], true);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(y[r * n + j]), "token " + r + " output " + j);
                diff += want != y[r * n + j] ? 1 : 0;
            }
        assertEquals(0, diff);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new AxBxpKernel(WeightDecoder.decode(QuantFormat.parse("mxfp4").pack(Rtn.quantizeRtn(QuantFormat.parse("mxfp4"), w, n, k))), c));
        assertTrue(e.getMessage().contains("rtn-w8g"), e.getMessage());
    }
    /** The reference layer output of §9: each weight's code from its dequantized value and group scale, an exact BigDecimal sum, then Datapath.finish. */
    static float[] referenceLayer(QuantFormat f, PackedTensor p, int[] q, float[] xs, float[] bias, int rows, AxBxp.Config c) {
        int n = p.n(), k = p.k(), g = ((io.qbridge.format.IntGroupFormat) f).groupSize();
        float[] wd = f.dequantize(p);
        short[] scales = ((io.qbridge.format.IntGroupTensor) f.unpackCodes(p)).scales();
        float[] y = new float[rows * n];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) {
                BigDecimal s = BigDecimal.ZERO;
                for (int c0 = 0; c0 < k; c0++) {
                    double sc = Float.float16ToFloat(scales[j * (k / g) + c0 / g]);
                    int code = sc == 0 ? 0 : (int) Math.rint(wd[j * k + c0] / sc);
                    s = s.add(new BigDecimal(sc).multiply(BigDecimal.valueOf(reference(q[r * k + c0], code, c))));
                }
                y[r * n + j] = Datapath.finish(s.doubleValue(), xs[r], bias == null ? 0f : bias[j], bias != null);
            }
        return y;
    }

    @Test
    void theDeviceModeRunsEachLayerWithItsOwnConfigurationBitExactly() {
        QuantFormat f = QuantFormat.parse("rtn-w8g128");
        int n = 40, k = 256, rows = 7;
        Random rnd = new Random(11);
        float[] w1 = new float[n * k], w2 = new float[n * k], x = new float[rows * k], bias = new float[n];
        for (int i = 0; i < w1.length; i++) { w1[i] = (float) rnd.nextGaussian() * 0.05f; w2[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian())); }
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian()));
        for (int i = 0; i < n; i++) bias[i] = (float) rnd.nextGaussian();
        PackedTensor p1 = f.pack(Rtn.quantizeRtn(f, w1, n, k)), p2 = f.pack(Rtn.quantizeRtn(f, w2, n, k));
        AxBxp.Config c1 = AxBxpPlan.parse("k2-x2d-w3d-sig2"), c2 = AxBxpPlan.parse("k2-x1d-w2s-full"), uniform = AxBxpPlan.parse("k3-x2d-w2d-m1101");
        AxBxpPlan plan = AxBxpPlan.fromSettings(java.util.Map.of("axbxp.l1", AxBxpPlan.format(c1), "axbxp.l2", AxBxpPlan.format(c2), "recipe", "rtn-w8g128"));
        int[] q = new int[rows * k];
        float[] xs = new float[rows];
        ActivationQuantizer.quantize(x, k, rows, q, xs);
        io.qbridge.device.PerfConfig perf = io.qbridge.device.PerfConfig.u55c();
        EmulatorConfig cfg = new EmulatorConfig(perf, EmulatorConfig.DEFAULT_FORMATS).withActivations(io.qbridge.device.ActivationMode.AXBXP);
        try (EmulatorAccelerator dev = new EmulatorAccelerator(cfg.withAxBxp(plan.withUniform(uniform)));
             EmulatorAccelerator fxp8 = new EmulatorAccelerator(cfg.withAxBxp(AxBxpPlan.uniform(AxBxp.Config.full(2, 4, 4, AxBxp.Window.DYNAMIC))))) {
            Object[][] cases = {{"l1", p1, c1}, {"l2", p2, c2}, {"other", p1, uniform}, {null, p2, uniform}};
            for (Object[] cs : cases) {
                PackedTensor p = (PackedTensor) cs[1];
                io.qbridge.device.LayerHandle h = cs[0] == null ? dev.load(p, bias) : dev.load((String) cs[0], p, bias);
                assertEquals(cs[2], dev.axbxpKernel(h).config());
                float[] y = new float[rows * n];
                io.qbridge.device.RunResult rr = dev.run(h, x, rows, y);
                float[] want = referenceLayer(f, p, q, xs, bias, rows, (AxBxp.Config) cs[2]);
                for (int i = 0; i < y.length; i++) assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), cs[0] + " output " + i);
                // the modelled run: the PE packs more MACs per cycle and spends less per MAC than FxP8 on the same PE
                io.qbridge.device.LayerHandle hf = fxp8.load(p, bias);
                io.qbridge.device.RunResult rf = fxp8.run(hf, x, rows, new float[rows * n]);
                assertTrue(rr.energyJoules() < rf.energyJoules(), cs[0] + ": " + rr.energyJoules() + " vs " + rf.energyJoules());
                assertTrue(rr.deviceCycles() <= rf.deviceCycles());
            }
        }
        try (EmulatorAccelerator dev = new EmulatorAccelerator(cfg.withAxBxp(plan))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.load("l3", p1, bias));
            assertTrue(e.getMessage().startsWith("layer l3 has no Ax-BxP configuration"), e.getMessage());
            PackedTensor w4 = QuantFormat.parse("rtn-w4g128").pack(Rtn.quantizeRtn(QuantFormat.parse("rtn-w4g128"), w1, n, k));
            e = assertThrows(IllegalArgumentException.class, () -> dev.load("l1", w4, bias));
            assertTrue(e.getMessage().contains("rtn-w8g"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AxBxpPlan.fromSettings(java.util.Map.of("axbxp.l1", "k2-x9d-w1d-full")));
        assertTrue(e.getMessage().startsWith("settings axbxp.l1: bad Ax-BxP configuration 'k2-x9d-w1d-full'"), e.getMessage());
    }
}
