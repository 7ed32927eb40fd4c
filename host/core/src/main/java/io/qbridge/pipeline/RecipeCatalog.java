package io.qbridge.pipeline;

import io.qbridge.format.FineQFormat;
import io.qbridge.format.FormatNames;
import io.qbridge.format.IntGroupFormat;
import io.qbridge.format.LoBcqCodebooks;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.MxFormat;
import io.qbridge.format.QuantFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What {@code qbridge formats} lists: every recipe name the CLI takes, with its format's bits/weight formula
 * (derived from the format's fields, and checked against {@link QuantFormat#packedBytes} by the tests), block
 * sizes, algorithm and a one-line description.
 */
public final class RecipeCatalog {
    private RecipeCatalog() {}

    /** The shape at which {@link Entry#bitsPerWeight()} is evaluated: every block and group size divides it. */
    public static final int REF_N = 4096, REF_K = 4096;

    /**
     * One recipe. {@code bitsFormula} is null for {@code fp32}; {@code simulated} recipes give dequantized
     * weights for {@code eval} only (no packing, no device).
     */
    public record Entry(String name, String family, String bitsFormula, double bitsPerWeight, String blocks, String algorithm, boolean simulated,
                        String description) {}

    /** A bits/weight formula with its value at {@link #REF_K}. */
    public record Formula(String text, double value) {}

    public static List<Entry> entries() {
        Stream.Builder<Entry> b = Stream.builder();
        b.add(new Entry("fp32", "none", null, 32, "-", "none", false, "no quantization: the FP32 model as loaded"));
        for (int bits : new int[] {2, 3, 4, 8}) {
            b.add(of("rtn-w" + bits + "g128", "INT group-wise, symmetric, round to nearest; any group: rtn-w<b>g<g>, b in 2, 3, 4, 8"));
            b.add(of("gptq-w" + bits + "g128", "the same INT format filled by GPTQ (calibrated on real text); any group: gptq-w<b>g<g>"));
        }
        b.add(of("int4-asym-g128", "INT group-wise with an fp16 zero point per group (as GPTQ's asymmetric mode); int<b>-asym-g<g>"));
        b.add(of("mxint8", "OCP MX: 8-bit integers, one E8M0 exponent per block of 32 along K; -b<B> for another block size"));
        b.add(of("mxfp8-e4m3", "OCP MX: FP8 E4M3 elements, one E8M0 exponent per block of 32"));
        b.add(of("mxfp8-e5m2", "OCP MX: FP8 E5M2 elements, one E8M0 exponent per block of 32"));
        b.add(of("mxfp6-e2m3", "OCP MX: FP6 E2M3 elements, one E8M0 exponent per block of 32"));
        b.add(of("mxfp6-e3m2", "OCP MX: FP6 E3M2 elements, one E8M0 exponent per block of 32"));
        b.add(of("mxfp4", "OCP MX: FP4 E2M1 elements, one E8M0 exponent per block of 32"));
        b.add(of("microscopiq-w4", "MicroScopiQ: MX-INT4 inliers, E4M3 outliers split into pruned slots, GPTQ (the paper's algorithm)"));
        b.add(of("microscopiq-w2", "MicroScopiQ: MX-INT2 inliers, E2M1 outliers split into pruned slots, GPTQ"));
        b.add(of("microscopiq-w4-c4", "MicroScopiQ, the first per-block layout: one exponent per block, up to 4 outliers per block"));
        b.add(of("microscopiq-w2-c4", "MicroScopiQ W2, the first per-block layout"));
        b.add(of("fineq", "FineQ: clusters of 3 weights in one byte (2-bit or pruned + 3-bit), fp16 scale per group of 128"));
        b.add(of("lobcq-c8-a64", "LO-BCQ: 4-bit indices into 8 frozen codebooks chosen per block of 8, E4M3 scale per array of 64 (also 'lobcq'; -local: per-layer codebooks)"));
        b.add(of("lobcq-c16-a128", "LO-BCQ with 16 codebooks, arrays of 128"));
        b.add(of("lobcq-c16-a64", "LO-BCQ with 16 codebooks, arrays of 64"));
        for (String sim : List.of("microscopiq-w4-official", "microscopiq-w2-official")) {
            MicroScopiQFormat f = sim.contains("w4") ? MicroScopiQFormat.W4 : MicroScopiQFormat.W2;
            Formula bits = formula(f);
            b.add(new Entry(sim, "microscopiq", bits.text(), bits.value(), blocks(f), "gptq", true,
                    "the official MicroScopiQ repository's choices, simulated: dequantized weights for 'eval' only, no packing or device"));
        }
        return b.build().toList();
    }

    /** Every name {@link #entries()} lists plus the fixed format names: the candidates of "did you mean". */
    public static List<String> names() {
        return Stream.concat(entries().stream().map(Entry::name), FormatNames.FIXED.stream()).distinct().toList();
    }

    /** The one-line error for a recipe nobody knows ({@code spec} as given; the names closest to its part before any '@'). */
    public static String unknown(String spec) {
        String s = spec == null ? "" : spec.strip().toLowerCase(Locale.ROOT);
        int at = s.indexOf('@');
        List<String> close = FormatNames.closest(at < 0 ? s : s.substring(0, at), names());
        return "unknown format or recipe '" + spec + "'" + (close.isEmpty() ? "" : " (did you mean " + String.join(" or ", close) + "?)")
                + "; 'qbridge formats' lists them";
    }

    private static Entry of(String name, String description) {
        QuantRecipe r = QuantRecipe.parse(name);
        QuantFormat f = r.format();
        Formula bits = formula(f);
        return new Entry(name, family(f), bits.text(), bits.value(), blocks(f), r.algorithm().name().toLowerCase(Locale.ROOT), false, description);
    }

    static String family(QuantFormat f) {
        return switch (f) {
            case IntGroupFormat i -> "int";
            case MxFormat m -> "mx";
            case MicroScopiQFormat m -> "microscopiq";
            case FineQFormat q -> "fineq";
            case LoBcqFormat l -> "lobcq";
        };
    }

    /** Block and group sizes along K, in words. */
    public static String blocks(QuantFormat f) {
        return switch (f) {
            case IntGroupFormat i -> "group " + i.groupSize();
            case MxFormat m -> "block " + m.blockSize();
            case MicroScopiQFormat m -> "block " + m.blockSize() + ", exponent per " + m.macroBlocks() + " blocks";
            case FineQFormat q -> "cluster 3, group " + q.groupSize();
            case LoBcqFormat l -> "block " + l.blockScalars() + ", array " + l.arrayScalars() + ", " + l.codebooks() + " codebooks";
        };
    }

    /** The bits/weight of {@code f} as a formula of its fields (docs/formats.md), with its value for K = {@link #REF_K}. */
    public static Formula formula(QuantFormat f) {
        return switch (f) {
            case IntGroupFormat i -> {
                int scaleBits = i.symmetric() ? 16 : 32;
                yield new Formula(i.bits() + " + " + scaleBits + "/" + i.groupSize() + (i.symmetric() ? " (codes + fp16 scale per group)" : " (codes + fp16 scale and zero per group)"),
                        i.bits() + (double) scaleBits / i.groupSize());
            }
            case MxFormat m -> new Formula(m.element().bits() + " + 8/" + m.blockSize() + " (elements + E8M0 exponent per block)",
                    m.element().bits() + 8.0 / m.blockSize());
            case MicroScopiQFormat m -> new Formula(m.bits() + " + " + m.blockMetadataBits() + "/" + m.blockSize() + " + 8/" + (m.macroBlocks() * m.blockSize())
                    + " (slots + per-block outlier metadata + E8M0 per macro-block)",
                    m.bits() + (double) m.blockMetadataBits() / m.blockSize() + 8.0 / (m.macroBlocks() * m.blockSize()));
            case FineQFormat q -> {
                int clusters = (q.groupSize() + 2) / 3;
                yield new Formula("8*" + clusters + "/" + q.groupSize() + " + 16/" + q.groupSize() + " (a byte per cluster of 3 + fp16 scale per group)",
                        8.0 * clusters / q.groupSize() + 16.0 / q.groupSize());
            }
            case LoBcqFormat l -> new Formula("8*" + l.recordBytes() + "/" + l.arrayScalars() + " + 32/K (a record per array: E4M3 scale, "
                    + l.selectorBits() + "-bit selector per block, 4-bit indices; fp32 scale per row)" + (l.local() ? " + the layer's table" : ""),
                    8.0 * l.recordBytes() / l.arrayScalars() + 32.0 / REF_K + (l.local() ? 8.0 * l.codebooks() * LoBcqCodebooks.ENTRIES / ((double) REF_N * REF_K) : 0));
        };
    }
}
