package io.qbridge.emulator;

import io.qbridge.device.ActivationMode;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.format.FineQFormat;
import io.qbridge.format.FpElement;
import io.qbridge.format.IntGroupFormat;
import io.qbridge.format.LoBcqEncoder;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.MxFormat;
import io.qbridge.format.MxInt;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.quant.LoBcqDesign;
import io.qbridge.quant.LoBcqDesignConfig;
import io.qbridge.quant.Rtn;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Test vectors for the HLS kernels' C-simulation benches (hls/README.md, "Test vectors"): each case is a layer
 * packed by the real packer ({@link QuantFormat#pack} after RTN), its activations quantized by the host's own
 * quantizers ({@link ActivationQuantizer}, {@link MxActivationQuantizer}: the codes and scales the host sends) and
 * the outputs this emulator computes from them. One file per kernel, little-endian:
 * <pre>
 * file:  "QBHLSVEC" (8 bytes) | u32 version (1) | u32 kernel (0 microscopiq, 1 fineq, 2 mx, 3 intgroup, 4 lobcq, 5 axbxp) | u32 cases
 * case:  str name | str format id | u32 act_mode (0 int8-token, 1 mxint8, 2 lobcq) | u32 n | u32 k | u32 tokens | u32 has_bias
 *        | u32 nargs | nargs x i32 format scalars (the kernel's arguments after has_bias, in order)
 *        | u64 len + weights (the packed image, docs/formats.md; LO-BCQ: {@link LoBcqBuffers#weights})
 *        | u64 len + activation codes (int8 [tokens][k]; act_mode 2: the LO-BCQ records of {@link LoBcqBuffers#activations})
 *        | u64 len + activation scales (act_mode 0: tokens fp32; 1: [tokens][ceil(k/32)] E8M0 bytes; 2: tokens fp32 row scales)
 *        | n fp32 bias (only when has_bias) | tokens x n fp32 expected outputs (bit patterns)
 * str:   u32 byte length + UTF-8 bytes
 * </pre>
 * Entry point: {@code java -cp <qbridge-emulator + dependencies> io.qbridge.emulator.HlsVectors --out DIR [--quick]}
 * (hls/Makefile runs it); {@code model-cycles.tsv} beside them gives the performance model's compute cycles of each
 * real-layer case (u55c preset). Files are written to a temporary name and renamed, so a failed run leaves none.
 */
public final class HlsVectors {
    private HlsVectors() {}

    public static final int VERSION = 1;
    public static final List<String> KERNELS = List.of("microscopiq", "fineq", "mx", "intgroup", "lobcq", "axbxp");

    /** Formats with vectors, per kernel. */
    static final Map<String, List<String>> FORMATS = new LinkedHashMap<>();
    static {
        FORMATS.put("microscopiq", List.of("microscopiq-w4", "microscopiq-w2", "microscopiq-w4-c4", "microscopiq-w2-c4",
                "microscopiq-w4-b16-m8-o1-s2.0-e4m3-i0-l3b-7", "microscopiq-w2-b16-m4-o2-s2.0-e2m1-i2-l2b0"));
        FORMATS.put("fineq", List.of("fineq", "fineq-g10-d3.5-s8"));
        FORMATS.put("mx", List.of("mxint8", "mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp4"));
        FORMATS.put("intgroup", List.of("rtn-w4g128", "int4-asym-g128", "rtn-w8g128", "rtn-w3g32", "int2-asym-g7", "rtn-w2g64"));
        // the two universal presets with 8 and 16 codebooks, and a -local configuration with INT8 entries, N_c = 4 (2-bit
        // selectors), blocks of 4 and arrays of 32
        FORMATS.put("lobcq", List.of("lobcq-c8-a64", "lobcq-c16-a128", "lobcq-c4-b4-a32-e8-t100-local"));
    }

    /** The bge-small layers every format is also tested on: attention (384x384) and feed-forward (1536x384, 384x1536). */
    public static final List<String> REAL_LAYERS = List.of("encoder.layer.0.attention.self.query.weight", "encoder.layer.5.intermediate.dense.weight",
            "encoder.layer.11.output.dense.weight");

    /** The activation modes every weight kernel takes (LO-BCQ's kernel also takes {@link ActivationMode#LOBCQ}: {@link #modes}). */
    public static final List<ActivationMode> KERNEL_MODES = List.of(ActivationMode.INT8_PER_TOKEN, ActivationMode.MXINT8_BLOCK32);

    /** The activation modes the kernel of {@code f} takes. */
    public static List<ActivationMode> modes(QuantFormat f) {
        return f instanceof LoBcqFormat ? List.of(ActivationMode.INT8_PER_TOKEN, ActivationMode.MXINT8_BLOCK32, ActivationMode.LOBCQ) : KERNEL_MODES;
    }

    /** The kernels' {@code act_mode} argument for {@code mode} (hls/kernels/qbridge_kernels.h: QB_ACT_*). */
    public static int actModeArg(ActivationMode mode) {
        return switch (mode) {
            case INT8_PER_TOKEN, AXBXP -> 0; // Ax-BxP's activations are INT8 per token (docs/emulator.md §9a)
            case MXINT8_BLOCK32 -> 1;
            case LOBCQ -> 2;
            default -> throw new IllegalArgumentException("no HLS kernel takes " + mode.id() + " activations");
        };
    }

    /** The kernel's weights buffer for {@code p}: the packed image, with LO-BCQ's codebook table in front ({@link LoBcqBuffers#weights}). */
    public static byte[] kernelWeights(PackedTensor p) {
        return p.format() instanceof LoBcqFormat ? LoBcqBuffers.weights(p) : p.bytes();
    }

    /**
     * The random layers' shapes {n, k, tokens, edges, bias} for {@code f}: N not a multiple of the 64-column array, K with
     * a partial last block/group/FineQ cluster (MicroScopiQ: K a multiple of 16 with a partial last macro-block; LO-BCQ:
     * a multiple of the block array, which the format requires), 1 token and more than one 64-token tile.
     */
    public static int[][] shapes(QuantFormat f) {
        boolean ms = f instanceof MicroScopiQFormat, lb = f instanceof LoBcqFormat;
        return new int[][] {
                {70, ms ? 272 : lb ? 256 : 257, 1, 0, 1},
                {67, ms ? 400 : lb ? 384 : 333, 67, 1, 0},
                {5, ms ? 16 : lb ? 128 : 29, 3, 1, 1},
                {130, ms ? 144 : lb ? 512 : 160, 9, 1, 1},
        };
    }

    /** The kernel that runs {@code f} (its index in {@link #KERNELS}). */
    public static int kernel(QuantFormat f) {
        return switch (f) {
            case MicroScopiQFormat m -> 0;
            case FineQFormat q -> 1;
            case MxFormat x -> 2;
            case IntGroupFormat g -> 3;
            case LoBcqFormat l -> 4;
        };
    }

    /**
     * The kernel's format scalars for {@code f} (the arguments after {@code has_bias}, hls/kernels/qbridge_kernels.h).
     *
     * @throws IllegalArgumentException for a configuration the kernels do not build (MicroScopiQ blocks other than 16, MX blocks other than 32)
     */
    public static int[] kernelArgs(QuantFormat f) {
        return switch (f) {
            case MicroScopiQFormat m -> {
                if (m.blockSize() != 16) throw new IllegalArgumentException(f.id() + ": the MicroScopiQ kernel builds blocks of 16 only");
                yield new int[] {m.bits(), m.macroBlocks(), m.maxOutliers(), m.inlierOffsetBits(), m.level2Bits(), m.level2Bias()};
            }
            case FineQFormat q -> new int[] {q.groupSize()};
            case MxFormat x -> {
                if (x.blockSize() != 32) throw new IllegalArgumentException(f.id() + ": the MX kernel builds blocks of 32 only");
                yield new int[] {switch (x.element()) {
                    case MxInt i -> 0;
                    case FpElement e -> switch (e) {
                        case E4M3 -> 1;
                        case E5M2 -> 2;
                        case E2M3 -> 3;
                        case E3M2 -> 4;
                        case E2M1 -> 5;
                    };
                }};
            }
            case IntGroupFormat g -> new int[] {g.bits(), g.groupSize(), g.symmetric() ? 1 : 0};
            case LoBcqFormat l -> new int[] {l.codebooks(), l.blockScalars(), l.arrayScalars()};
        };
    }

    /**
     * One case: everything the bench passes to the top function plus the expected outputs.
     *
     * @param formatId the format id (Ax-BxP: the weight format and the configuration, {@link AxBxpVectors#configId})
     * @param kernel   the kernel's index in {@link #KERNELS}
     * @param args     the kernel's format scalars
     * @param weights  the kernel's weights buffer ({@link #kernelWeights})
     */
    public record Case(String name, String formatId, int kernel, int[] args, PackedTensor packed, byte[] weights, ActivationMode mode, int tokens, byte[] codes,
                       byte[] scales, float[] bias, float[] expected, long modelCycles) {}

    /** The activation buffers an XRT host sends for {@code mode} (LO-BCQ encoded with the layer's own table). */
    public static KernelInputs inputs(PackedTensor p, ActivationMode mode, float[] x, int tokens) {
        if (mode != ActivationMode.LOBCQ) return KernelInputs.quantize(mode, x, p.k(), tokens);
        LoBcqWeights lw = LoBcqWeights.decode(p);
        return LoBcqBuffers.activations(new LoBcqEncoder(lw.format(), lw.table()), x, p.k(), tokens);
    }

    /** Quantizes {@code x} as the host does for {@code mode} and runs the emulator on it. */
    public static Case make(String name, PackedTensor p, ActivationMode mode, float[] x, int tokens, float[] bias) {
        int n = p.n();
        KernelInputs in = inputs(p, mode, x, tokens); // the bytes an XRT host sends too (io.qbridge.xrt.XrtAccelerator)
        byte[] codes = in.codes(), scales = in.scales();
        float[] y = new float[tokens * n];
        long cycles;
        try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(mode))) {
            LayerHandle h = dev.load(p, bias);
            dev.run(h, x, tokens, y);
            cycles = dev.estimate(h, tokens).computeCycles(); // the performance model's compute cycles, u55c preset
        }
        return new Case(name, p.format().id(), kernel(p.format()), kernelArgs(p.format()), p, kernelWeights(p), mode, tokens, codes, scales, bias, y, cycles);
    }

    /** Heavy-tailed activations with the edge cases of docs/emulator.md §1/§1b: saturating, all-zero and spread tokens. */
    static float[] activations(int tokens, int k, long seed, boolean edges) {
        Random rnd = new Random(seed);
        float[] x = new float[tokens * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (rnd.nextDouble() < 0.02 ? 25 : 1));
        if (!edges) return x;
        for (int r = 0; r < tokens; r++) {
            int o = r * k;
            switch (r % 6) {
                case 0 -> { for (int c = 0; c < k; c++) x[o + c] = (c & 1) == 0 ? 3.5f : -3.5f; } // every code +-127
                case 1 -> java.util.Arrays.fill(x, o, o + k, 0f);                                  // all-zero token / blocks
                case 2 -> { for (int c = 0; c < k; c++) x[o + c] = (float) (x[o + c] * Math.pow(2, ((c / 32) % 9) * 6 - 24)); } // spread exponents
                case 3 -> { x[o + rnd.nextInt(k)] = 1e4f; }                                       // one huge value: others round to 0
                case 4 -> { for (int c = 0; c < k; c++) x[o + c] = (c % 32 == 5) ? 127.5f / 64f : (c % 32 == 6 ? -0.5f / 64f : x[o + c] * 0.01f); } // ties and 128 -> 127
                default -> { }
            }
        }
        return x;
    }

    /** Weights with the hardware edge cases: all-zero blocks, an outlier at every position of a block, saturating rows. */
    static float[] weights(int n, int k, long seed, boolean edges) {
        Random rnd = new Random(seed);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() * 0.02 * (rnd.nextDouble() < 0.02 ? 10 : 1));
        if (!edges) return w;
        for (int r = 0; r < n; r++) {
            int o = r * k;
            if (r % 7 == 0) java.util.Arrays.fill(w, o, o + Math.min(k, 128), 0f);             // all-zero blocks (and groups)
            for (int s = 0; s < k; s += 16) if (s + r % 16 < k) w[o + s + r % 16] *= 40;           // an outlier at position r mod 16 of every block
            if (r % 7 == 3) for (int c = 0; c < k; c++) w[o + c] = (c & 1) == 0 ? 0.05f : -0.05f;  // every code at its largest magnitude
            if (r % 7 == 5) for (int c = 0; c < k; c++) w[o + c] *= (float) Math.pow(2, (c / 32) % 5 * 4 - 8); // block scales spread over 2^16
        }
        return w;
    }

    /**
     * The codebook design settings for the {@code -local} vectors: a small sample and few iterations, since the kernel only
     * needs some valid per-layer table (the design itself is tested in the quant package).
     */
    static final LoBcqDesignConfig LOCAL_DESIGN = new LoBcqDesignConfig(4096, 20250101L, 1e-3, 20, 1e-3, 4);

    /** RTN, or for a {@code -local} LO-BCQ format the per-layer codebook design and RTN with it ({@link LoBcqDesign#quantizeLocal}). */
    static PackedTensor pack(QuantFormat f, float[] w, int n, int k) {
        if (f instanceof LoBcqFormat l && l.local()) return f.pack(LoBcqDesign.quantizeLocal(l, w, n, k, LOCAL_DESIGN).tensor());
        return f.pack(Rtn.quantize(f, w, n, k).tensor());
    }

    /** The random and edge cases of one format, in every activation mode its kernel takes. */
    static List<Case> randomCases(QuantFormat f, long seed) {
        List<Case> out = new ArrayList<>();
        Random rnd = new Random(seed);
        for (ActivationMode mode : modes(f)) {
            for (int[] s : shapes(f)) {
                int n = s[0], k = s[1], tokens = s[2];
                boolean edges = s[3] == 1;
                PackedTensor p = pack(f, weights(n, k, rnd.nextLong(), edges), n, k);
                if (edges && f instanceof MxFormat x) p = withNanBlock(p, x);
                float[] bias = s[4] == 1 ? weights(1, n, rnd.nextLong(), false) : null;
                String name = f.id() + " " + mode.id() + " random " + n + "x" + k + " x " + tokens + (edges ? " edges" : "") + (bias == null ? " no-bias" : "");
                out.add(make(name, p, mode, activations(tokens, k, rnd.nextLong(), edges), tokens, bias));
            }
        }
        return out;
    }

    /**
     * The packed image with row 1's first block given the NaN scale 0xFF and element codes 0, as the packer writes a
     * block that held a NaN or Inf (docs/formats.md §3): every output that row touches is NaN.
     */
    static PackedTensor withNanBlock(PackedTensor p, MxFormat f) {
        byte[] b = p.bytes().clone();
        int n = p.n(), k = p.k(), e = f.element().bits(), rowBytes = (int) (((long) k * e + 7) / 8), nb = f.blocks(k);
        if (n < 2) return p;
        int blockBytes = Math.min(rowBytes, f.blockSize() * e / 8);
        java.util.Arrays.fill(b, rowBytes, rowBytes + blockBytes, (byte) 0);
        b[n * rowBytes + nb] = (byte) 0xFF;
        return new PackedTensor(f, n, k, b);
    }

    /** bge-small's {@link #REAL_LAYERS} in format {@code f} (RTN), both activation modes, 7 tokens. */
    static List<Case> realCases(QuantFormat f, Map<String, Linear> layers, long seed) {
        List<Case> out = new ArrayList<>();
        Random rnd = new Random(seed);
        for (String name : REAL_LAYERS) {
            Linear l = layers.get(name);
            if (l == null) throw new IllegalStateException("bge-small has no layer " + name + " (layers: " + layers.keySet() + ")");
            int n = l.outFeatures(), k = l.inFeatures(), tokens = 7;
            PackedTensor p = pack(f, l.weightsOutIn(), n, k);
            for (ActivationMode mode : modes(f))
                out.add(make(f.id() + " " + mode.id() + " bge-small " + name + " " + n + "x" + k + " x " + tokens, p, mode,
                        activations(tokens, k, rnd.nextLong(), false), tokens, l.bias()));
        }
        return out;
    }

    /** Serialises cases in the layout of the class comment. */
    public static byte[] encode(int kernel, List<Case> cases) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Out o = new Out(bytes);
        o.raw("QBHLSVEC".getBytes(StandardCharsets.US_ASCII));
        o.u32(VERSION);
        o.u32(kernel);
        o.u32(cases.size());
        for (Case c : cases) {
            PackedTensor p = c.packed();
            if (c.kernel() != kernel) throw new IllegalArgumentException(c.name() + " is not a case of kernel " + KERNELS.get(kernel));
            o.str(c.name());
            o.str(c.formatId());
            o.u32(actModeArg(c.mode()));
            o.u32(p.n());
            o.u32(p.k());
            o.u32(c.tokens());
            o.u32(c.bias() == null ? 0 : 1);
            o.u32(c.args().length);
            for (int a : c.args()) o.u32(a);
            o.blob(c.weights());
            o.blob(c.codes());
            o.blob(c.scales());
            if (c.bias() != null) for (float b : c.bias()) o.u32(Float.floatToRawIntBits(b));
            for (float y : c.expected()) o.u32(Float.floatToRawIntBits(y));
        }
        return bytes.toByteArray();
    }

    private record Out(ByteArrayOutputStream b) {
        void raw(byte[] x) { b.writeBytes(x); }
        void u32(int v) { b.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array()); }
        void u64(long v) { b.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array()); }
        void str(String s) { byte[] x = s.getBytes(StandardCharsets.UTF_8); u32(x.length); raw(x); }
        void blob(byte[] x) { u64(x.length); raw(x); }
    }

    /** Writes {@code <kernel>.qbv} for every kernel into {@code dir}; {@code real} adds the bge-small layers. */
    public static Map<String, Integer> write(Path dir, boolean real) throws IOException {
        Files.createDirectories(dir);
        Map<String, Linear> layers = new LinkedHashMap<>();
        if (real) for (Linear l : EncoderModel.load(EncoderModel.Builtin.BGE_SMALL).encoder().linears()) layers.put(l.name(), l);
        Map<String, Integer> counts = new LinkedHashMap<>();
        StringBuilder model = new StringBuilder();
        long seed = 14;
        for (Map.Entry<String, List<String>> e : FORMATS.entrySet()) {
            List<Case> cases = new ArrayList<>();
            for (String id : e.getValue()) {
                QuantFormat f = QuantFormat.parse(id);
                cases.addAll(randomCases(f, seed++));
                if (real) cases.addAll(realCases(f, layers, seed++));
            }
            writeKernel(dir, e.getKey(), cases, model, counts);
        }
        writeKernel(dir, "axbxp", AxBxpVectors.cases(layers, seed++), model, counts);
        // the model's compute cycles of the real-layer cases (hls/README.md, "Cycles"), beside the C simulation's count
        Path tmp = dir.resolve("model-cycles.tsv.tmp");
        Files.writeString(tmp, model.toString());
        Files.move(tmp, dir.resolve("model-cycles.tsv"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return counts;
    }

    private static void writeKernel(Path dir, String name, List<Case> cases, StringBuilder model, Map<String, Integer> counts) throws IOException {
        // the model's compute cycles (a negative count: the model has no entry for this datapath)
        for (Case c : cases) if (c.name().contains("bge-small") && c.modelCycles() >= 0) model.append(c.name()).append('\t').append(c.modelCycles()).append('\n');
        Path file = dir.resolve(name + ".qbv"), tmp = dir.resolve(name + ".qbv.tmp");
        Files.write(tmp, encode(KERNELS.indexOf(name), cases));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        counts.put(name, cases.size());
    }

    /** {@code HlsVectors --out DIR [--no-real]}: writes the vectors; prints one line per kernel file. */
    public static void main(String[] args) throws IOException {
        Path out = null;
        boolean real = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> { if (i + 1 >= args.length) usage("--out needs a directory"); out = Path.of(args[++i]); }
                case "--no-real" -> real = false;
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (out == null) usage("--out DIR is required");
        for (Map.Entry<String, Integer> e : write(out, real).entrySet())
            System.out.println(out.resolve(e.getKey() + ".qbv") + ": " + e.getValue() + " cases");
    }

    private static void usage(String problem) {
        System.err.println("hls-vectors: " + problem + " (usage: HlsVectors --out DIR [--no-real])");
        System.exit(2);
    }
}
