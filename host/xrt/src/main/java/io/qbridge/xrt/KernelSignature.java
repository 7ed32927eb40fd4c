package io.qbridge.xrt;

import io.qbridge.emulator.AxBxp;
import io.qbridge.emulator.AxBxpVectors;
import io.qbridge.emulator.HlsVectors;
import io.qbridge.format.FineQFormat;
import io.qbridge.format.IntGroupFormat;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.MxFormat;
import io.qbridge.format.QuantFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A kernel's arguments in order, each with the {@link ArgKind} {@code xrtRunSetArg} passes it as. The table
 * below is the host's one statement of the kernels' C signatures ({@code hls/kernels/qbridge_kernels.h});
 * {@link #checkAgainst} compares it with what an xclbin's EMBEDDED_METADATA declares before anything runs, so
 * a kernel rebuilt with different arguments is refused instead of fed garbage.
 */
public record KernelSignature(String name, List<Arg> args) {
    public record Arg(String name, ArgKind kind) {}

    public KernelSignature {
        args = List.copyOf(args);
    }

    /** The leading arguments every Qbridge layer kernel shares (hls/README.md, "Kernel interface"). */
    private static final List<Arg> LAYER_COMMON = List.of(
            new Arg("weights", ArgKind.BUFFER), new Arg("act_codes", ArgKind.BUFFER), new Arg("act_scales", ArgKind.BUFFER),
            new Arg("bias", ArgKind.BUFFER), new Arg("out", ArgKind.BUFFER),
            new Arg("n", ArgKind.SCALAR32), new Arg("k", ArgKind.SCALAR32), new Arg("tokens", ArgKind.SCALAR32),
            new Arg("act_mode", ArgKind.SCALAR32), new Arg("has_bias", ArgKind.SCALAR32));
    public static final int WEIGHTS = 0, ACT_CODES = 1, ACT_SCALES = 2, BIAS = 3, OUT = 4, N = 5, K = 6, TOKENS = 7, ACT_MODE = 8, HAS_BIAS = 9,
            FIRST_FORMAT_ARG = 10;

    private static KernelSignature layer(String name, String... formatScalars) {
        List<Arg> a = new ArrayList<>(LAYER_COMMON);
        for (String s : formatScalars) a.add(new Arg(s, ArgKind.SCALAR32));
        return new KernelSignature(name, a);
    }

    public static final KernelSignature MICROSCOPIQ = layer("qb_microscopiq", "bits", "macro_blocks", "max_outliers", "offset_bits", "level2_bits", "level2_bias");
    public static final KernelSignature FINEQ = layer("qb_fineq", "group_size");
    public static final KernelSignature MX = layer("qb_mx", "element");
    public static final KernelSignature INTGROUP = layer("qb_intgroup", "bits", "group_size", "symmetric");
    public static final KernelSignature LOBCQ = layer("qb_lobcq", "codebooks", "block_scalars", "array_scalars");
    /**
     * Ax-BxP on the FxP8 layer ({@code rtn-w8g<g>} weights, INT8 per-token activations) in the {@code axbxp} activation
     * mode; its format scalars come from the layer's {@code AxBxp.Config} as well as the weight format
     * ({@link #bind(QuantFormat, AxBxp.Config)}).
     */
    public static final KernelSignature AXBXP = layer("qb_axbxp", "group_size", "bit_block", "x_kept", "x_window", "w_kept", "w_window", "mask_lo", "mask_hi");
    /**
     * The software device's diagnostic kernel (not an accelerator datapath; like the verify kernel of a card's
     * validation xclbin): copies {@code words} 32-bit words from {@code in} to {@code out} after holding the
     * compute unit for {@code hold_us} microseconds, so tests can make a run outlive its wait.
     */
    public static final KernelSignature VERIFY = new KernelSignature("qb_verify",
            List.of(new Arg("in", ArgKind.BUFFER), new Arg("out", ArgKind.BUFFER), new Arg("words", ArgKind.SCALAR32), new Arg("hold_us", ArgKind.SCALAR64)));

    public static final Map<String, KernelSignature> TABLE = Map.of(MICROSCOPIQ.name, MICROSCOPIQ, FINEQ.name, FINEQ, MX.name, MX,
            INTGROUP.name, INTGROUP, LOBCQ.name, LOBCQ, AXBXP.name, AXBXP, VERIFY.name, VERIFY);

    public Arg arg(int index) {
        if (index < 0 || index >= args.size()) throw new IllegalArgumentException("kernel " + name + " has no argument " + index + " (it has " + args.size() + ")");
        return args.get(index);
    }

    /** Refuses metadata that disagrees with this table: argument count, order, names or kinds. */
    public void checkAgainst(List<Axlf.MetaArg> meta, String source) {
        if (meta == null) throw new IllegalArgumentException("xclbin " + source + ": EMBEDDED_METADATA does not describe kernel " + name);
        if (meta.size() != args.size())
            throw new IllegalArgumentException("xclbin " + source + ": kernel " + name + " has " + meta.size() + " arguments in EMBEDDED_METADATA, the host's table has " + args.size());
        for (int i = 0; i < args.size(); i++) {
            Axlf.MetaArg m = meta.get(i);
            Arg a = args.get(i);
            if (m.id() != i || !m.name().equals(a.name()) || m.kind() != a.kind())
                throw new IllegalArgumentException("xclbin " + source + ": kernel " + name + " argument " + i + " is '" + m.name() + "' (" + m.type() + ", "
                        + (m.kind() == null ? "addressQualifier " + m.addressQualifier() + ", " + m.size() + " bytes" : m.kind()) + ") in EMBEDDED_METADATA, the host's table says '"
                        + a.name() + "' (" + a.kind() + ")");
        }
    }

    /**
     * Which kernel runs a format and the values of its format scalars: {@code block} is the format's scale
     * block along k, for the kernels' shape limit ({@code qb_shape_ok}).
     */
    public record Binding(KernelSignature kernel, int[] formatArgs, int block) {}

    private static final List<KernelSignature> BY_HLS_INDEX = List.of(MICROSCOPIQ, FINEQ, MX, INTGROUP, LOBCQ, AXBXP);

    /** Whether an HLS kernel takes {@code f}: every weight format has one (LO-BCQ: {@code qb_lobcq}, in all three activation modes). */
    public static boolean hasKernel(QuantFormat f) {
        return f != null;
    }

    /**
     * The kernel and format scalars for {@code f}: the mapping the C-simulation vectors use
     * ({@link HlsVectors#kernel}, {@link HlsVectors#kernelArgs}), so board and C-simulation cannot disagree.
     */
    public static Binding bind(QuantFormat f) {
        if (!hasKernel(f)) throw new IllegalArgumentException(f.id() + ": no HLS kernel takes this format yet (it runs on the emulator)");
        KernelSignature k = BY_HLS_INDEX.get(HlsVectors.kernel(f));
        if (!k.name().equals("qb_" + HlsVectors.KERNELS.get(HlsVectors.kernel(f))))
            throw new IllegalStateException("kernel table order differs from HlsVectors.KERNELS " + HlsVectors.KERNELS);
        int block = switch (f) {
            case MicroScopiQFormat m -> m.blockSize();
            case FineQFormat q -> q.groupSize();
            case MxFormat x -> x.blockSize();
            case IntGroupFormat g -> g.groupSize();
            case LoBcqFormat l -> l.arrayScalars();
        };
        return new Binding(k, HlsVectors.kernelArgs(f), block);
    }

    /**
     * The Ax-BxP kernel and its format scalars for {@code rtn-w8g<g>} weights under the layer's configuration {@code c}:
     * the mapping the C-simulation vectors use ({@link AxBxpVectors#kernelArgs(QuantFormat, AxBxp.Config)}). Every
     * configuration {@code AxBxp.Config} can hold fits the kernel's scalars (bit block 1..4, at most 7 x 7 mask bits);
     * other weights are a one-line error.
     */
    public static Binding bind(QuantFormat f, AxBxp.Config c) {
        int[] args = AxBxpVectors.kernelArgs(f, c);
        return new Binding(AXBXP, args, args[0]);
    }
}
