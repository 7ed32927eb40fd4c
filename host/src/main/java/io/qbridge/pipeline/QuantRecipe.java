package io.qbridge.pipeline;

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
 */
public record QuantRecipe(String name, QuantFormat format, Algorithm algorithm, GptqConfig gptq) {
    public enum Algorithm { NONE, RTN, GPTQ }

    public static QuantRecipe parse(String spec) {
        String s = spec.strip().toLowerCase(Locale.ROOT);
        if (s.equals("fp32")) return new QuantRecipe("fp32", null, Algorithm.NONE, null);
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
        QuantFormat format;
        Algorithm algorithm;
        if (base.startsWith("gptq-")) {
            format = QuantFormat.parse("rtn-" + base.substring(5));
            algorithm = Algorithm.GPTQ;
        } else {
            format = QuantFormat.parse(base);
            algorithm = base.startsWith("microscopiq") ? Algorithm.GPTQ : Algorithm.RTN;
        }
        if (override != null) algorithm = override;
        return new QuantRecipe(s, format, algorithm, algorithm == Algorithm.GPTQ ? GptqConfig.DEFAULT.withActOrder(actOrder) : null);
    }

    public boolean needsCalibration() {
        return algorithm == Algorithm.GPTQ;
    }
}
