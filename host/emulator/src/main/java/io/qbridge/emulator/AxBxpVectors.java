package io.qbridge.emulator;

import io.qbridge.device.ActivationMode;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The C-simulation vectors of the Ax-BxP kernel ({@code qb_axbxp}, hls/README.md): FxP8 layers ({@code rtn-w8g<g>} by the
 * real packer, INT8 per-token activations by {@link KernelInputs}, the bytes a host sends) under several
 * {@link AxBxp.Config}s, with the outputs of {@link AxBxpKernel} on exactly those codes and scales.
 */
public final class AxBxpVectors {
    private AxBxpVectors() {}

    /** Rows (and columns) of the kernel's mask bit matrix: bit {@code a * 7 + b} keeps block product (a, b). */
    public static final int MASK_STRIDE = AxBxp.MAGNITUDE_BITS;

    /**
     * The kernel's format scalars for weights in groups of {@code groupSize} under {@code c}: group_size, bit_block,
     * x_kept, x_window, w_kept, w_window (0 STATIC, 1 DYNAMIC), mask_lo, mask_hi (hls/kernels/qbridge_kernels.h).
     */
    public static int[] kernelArgs(int groupSize, AxBxp.Config c) {
        long mask = 0;
        boolean[][] m = c.mask().pairs();
        for (int a = 0; a < m.length; a++)
            for (int b = 0; b < m[a].length; b++)
                if (m[a][b]) mask |= 1L << (a * MASK_STRIDE + b);
        return new int[] {groupSize, c.x().bitBlock(), c.x().kept(), c.x().window().ordinal(), c.w().kept(), c.w().window().ordinal(), (int) mask,
                (int) (mask >>> 32)};
    }

    /**
     * The kernel's format scalars for a layer of {@code weights} under {@code c}: the one mapping the C-simulation vectors and
     * the board path ({@code KernelSignature.bind}) use. The weights must be the FxP8 baseline's, {@code rtn-w8g<g>}
     * ({@link ActivationMode#AXBXP}'s rule), else a one-line error naming the format.
     */
    public static int[] kernelArgs(QuantFormat weights, AxBxp.Config c) {
        AxBxpPlan.checkWeights(weights);
        return kernelArgs(((io.qbridge.format.IntGroupFormat) weights).groupSize(), c);
    }

    /** A readable name of a configuration: bit block, each operand's kept blocks and window, the mask's size. */
    public static String configId(AxBxp.Config c) {
        return "K" + c.x().bitBlock() + "-x" + c.x().kept() + c.x().window().name().charAt(0) + "-w" + c.w().kept() + c.w().window().name().charAt(0) + "-m"
                + c.mask().size();
    }

    /** The configurations with vectors: every bit block, both windows, FULL / SIGNIFICANCE / EXPLICIT masks, the exact one. */
    static List<AxBxp.Config> configs() {
        AxBxp.Window s = AxBxp.Window.STATIC, d = AxBxp.Window.DYNAMIC;
        boolean[][] explicit = {{true, false}, {false, true}}; // an explicit matrix (no significance mask): the diagonal pairs
        return List.of(
                AxBxp.Config.full(2, 3, 3, s),
                new AxBxp.Config(new AxBxp.Operand(2, 2, d), new AxBxp.Operand(2, 3, d), AxBxp.Mask.significance(2, 3, 1)),
                new AxBxp.Config(new AxBxp.Operand(1, 7, s), new AxBxp.Operand(1, 5, d), AxBxp.Mask.significance(7, 5, 3)),
                new AxBxp.Config(new AxBxp.Operand(3, 2, d), new AxBxp.Operand(3, 2, s), new AxBxp.Mask(explicit)),
                AxBxp.Config.full(4, 2, 2, s));
    }

    /** One case: {@code x} quantized as the host does (INT8 per token), the layer run by {@link AxBxpKernel}. */
    public static HlsVectors.Case make(String name, PackedTensor p, AxBxp.Config c, float[] x, int tokens, float[] bias) {
        int n = p.n(), k = p.k();
        DecodedWeights d = WeightDecoder.decode(p);
        KernelInputs in = KernelInputs.quantize(ActivationMode.INT8_PER_TOKEN, x, k, tokens);
        int[] q = new int[tokens * k];
        for (int i = 0; i < q.length; i++) q[i] = in.codes()[i];
        float[] xs = new float[tokens];
        ByteBuffer.wrap(in.scales()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(xs);
        float[] y = new float[tokens * n];
        new AxBxpKernel(d, c).compute(q, xs, bias, tokens, y);
        return new HlsVectors.Case(name, p.format().id() + " " + configId(c), HlsVectors.KERNELS.indexOf("axbxp"), kernelArgs(p.format(), c), p, p.bytes(),
                ActivationMode.INT8_PER_TOKEN, tokens, in.codes(), in.scales(), bias, y, -1);
    }

    /** Random and edge layers under every configuration (groups of 128 and 32), and bge-small's layers under one. */
    static List<HlsVectors.Case> cases(Map<String, Linear> layers, long seed) {
        List<HlsVectors.Case> out = new ArrayList<>();
        Random rnd = new Random(seed);
        List<AxBxp.Config> configs = configs();
        for (int ci = 0; ci < configs.size(); ci++) {
            AxBxp.Config c = configs.get(ci);
            QuantFormat f = QuantFormat.parse(ci % 2 == 0 ? "rtn-w8g128" : "rtn-w8g32");
            for (int[] s : HlsVectors.shapes(f)) {
                int n = s[0], k = s[1], tokens = s[2];
                boolean edges = s[3] == 1;
                PackedTensor p = HlsVectors.pack(f, HlsVectors.weights(n, k, rnd.nextLong(), edges), n, k);
                float[] bias = s[4] == 1 ? HlsVectors.weights(1, n, rnd.nextLong(), false) : null;
                String name = f.id() + " " + configId(c) + " random " + n + "x" + k + " x " + tokens + (edges ? " edges" : "") + (bias == null ? " no-bias" : "");
                out.add(make(name, p, c, HlsVectors.activations(tokens, k, rnd.nextLong(), edges), tokens, bias));
            }
        }
        AxBxp.Config c = configs.get(1);
        QuantFormat f = QuantFormat.parse("rtn-w8g128");
        for (String lname : layers.isEmpty() ? List.<String>of() : HlsVectors.REAL_LAYERS) {
            Linear l = layers.get(lname);
            int n = l.outFeatures(), k = l.inFeatures(), tokens = 7;
            PackedTensor p = HlsVectors.pack(f, l.weightsOutIn(), n, k);
            out.add(make(f.id() + " " + configId(c) + " bge-small " + lname + " " + n + "x" + k + " x " + tokens, p, c,
                    HlsVectors.activations(tokens, k, rnd.nextLong(), false), tokens, l.bias()));
        }
        return out;
    }
}
