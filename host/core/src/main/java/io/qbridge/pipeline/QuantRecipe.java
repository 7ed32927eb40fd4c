package io.qbridge.pipeline;

import io.qbridge.format.MicroScopiQOfficial;
import io.qbridge.format.QuantFormat;
import io.qbridge.quant.GptqConfig;
import java.util.Locale;

/**
 * What to do to each linear layer: a format and the algorithm that fills it.
 *
 * <p>Names as the CLI takes them: {@code fp32} (no quantization); {@code rtn-w<b>g<g>} and
 * {@code gptq-w<b>g<g>} (INT group-wise, round-to-nearest or GPTQ); any other format id from
 * {@link QuantFormat#parse} with its published algorithm: MX formats RTN (the OCP conversion),
 * MicroScopiQ the GPTQ loop with its own quantizer (the paper's algorithm), FineQ the per-cluster
 * encoding choice (RTN). A suffix {@code @rtn} or {@code @gptq} overrides the algorithm; {@code @gptq-act} is
 * GPTQ with act-order (columns visited by descending Hessian diagonal; the packed layer keeps that column
 * order and its permutation, see {@link QuantizedLayer#inputPerm()}).
 *
 * <p>{@code microscopiq-w4-official} and {@code microscopiq-w2-official} are <em>simulated</em> recipes: the
 * official MicroScopiQ repository's choices ({@link MicroScopiQOfficial}), GPTQ by default, {@code @rtn} possible.
 * They produce dequantized weights only (for {@code qbridge eval} on an encoder, {@link EncoderQuantizer#simulate});
 * {@link #format()} refuses them with {@link MicroScopiQOfficial#refusal}, so no packing or device path can take one.
 */
public record QuantRecipe(String name, QuantFormat format, Algorithm algorithm, GptqConfig gptq, MicroScopiQOfficial simulated) {
    public enum Algorithm { NONE, RTN, GPTQ }

    /** The packed format; throws for a simulated recipe, which has none. */
    @Override
    public QuantFormat format() {
        if (simulated != null) throw new IllegalArgumentException(MicroScopiQOfficial.refusal(name));
        return format;
    }

    public boolean isSimulated() {
        return simulated != null;
    }

    public static QuantRecipe parse(String spec) {
        String s = spec.strip().toLowerCase(Locale.ROOT);
        if (s.equals("fp32")) return new QuantRecipe("fp32", null, Algorithm.NONE, null, null);
        Algorithm override = null;
        boolean actOrder = false;
        int at = s.indexOf('@');
        String base = s;
        if (at >= 0) {
            String alg = s.substring(at + 1);
            base = s.substring(0, at);
            override = switch (alg) {
                case "rtn" -> Algorithm.RTN;
                case "gptq" -> Algorithm.GPTQ;
                case "gptq-act" -> Algorithm.GPTQ;
                default -> throw new IllegalArgumentException("unknown algorithm '" + alg + "' in '" + spec + "' (use @rtn, @gptq or @gptq-act)");
            };
            actOrder = alg.equals("gptq-act");
        }
        QuantFormat format = null;
        MicroScopiQOfficial simulated = null;
        Algorithm algorithm;
        if (base.equals("microscopiq-w4-official") || base.equals("microscopiq-w2-official")) {
            simulated = base.equals("microscopiq-w4-official") ? MicroScopiQOfficial.W4 : MicroScopiQOfficial.W2;
            algorithm = Algorithm.GPTQ;
        } else {
            try {
                format = QuantFormat.parse(base.startsWith("gptq-") ? "rtn-" + base.substring(5) : base);
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("unknown format")) throw new IllegalArgumentException(RecipeCatalog.unknown(spec), e);
                throw e;
            }
            algorithm = base.startsWith("gptq-") || base.startsWith("microscopiq") ? Algorithm.GPTQ : Algorithm.RTN;
        }
        if (override != null) algorithm = override;
        return new QuantRecipe(s, format, algorithm, algorithm == Algorithm.GPTQ ? GptqConfig.DEFAULT.withActOrder(actOrder) : null, simulated);
    }

    public boolean needsCalibration() {
        return algorithm == Algorithm.GPTQ;
    }
}
