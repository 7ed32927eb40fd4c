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
}
