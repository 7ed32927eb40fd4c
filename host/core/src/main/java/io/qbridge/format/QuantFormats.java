package io.qbridge.format;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Name parsing and the type checks every format shares. */
final class QuantFormats {
    private QuantFormats() {}

    static final List<String> VALID_NAMES = List.of("rtn-w<2|3|4|8>g<group>", "int<2|3|4|8>-sym-g<group>", "int<2|3|4|8>-asym-g<group>",
            "mxint8", "mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp4", "<mx name>-b<block>", "microscopiq-w4", "microscopiq-w2",
            "microscopiq-w4-c4", "microscopiq-w2-c4",
            "microscopiq-w<b>-b<B>-m<macroBlocks>-o<maxOutliers>-s<sigma>-<e4m3|e2m1>-i<inlierOffsetBits>-l<level2Bits>b<level2Bias>",
            "microscopiq-w<b>-b<B>-o<maxOutliers>-s<sigma>-<e4m3|e2m1>-l<level2Bits>", "fineq", "fineq-g<group>-d<scaleDivisor>-s<scaleSearchSteps>",
            "lobcq (= lobcq-c8-a64)", "lobcq-c16-a128", "lobcq-c16-a64", "lobcq-c<codebooks>-a<array>[-local]",
            "lobcq-c<codebooks>-b<block>-a<array>-e<entryBits>-t<amaxTarget>[-local]");

    private static final Pattern RTN = Pattern.compile("rtn-w(\\d+)g(\\d+)");
    private static final Pattern INT = Pattern.compile("int(\\d+)-(sym|asym)-g(\\d+)");
    // The ids that non-default configurations print, so that parse(f.id()) always gives f back.
    private static final Pattern MX_B = Pattern.compile("(mxint8|mxfp8-e4m3|mxfp8-e5m2|mxfp6-e2m3|mxfp6-e3m2|mxfp4)-b(\\d+)");
    private static final Pattern MSQ = Pattern.compile("microscopiq-w(\\d+)-b(\\d+)-m(\\d+)-o(\\d+)-s([0-9.]+)-(e\\dm\\d)-i(\\d+)-l(\\d+)b(-?\\d+)");
    // The first, per-block layout's names (one e1 per block, no inlier offset, unbiased d).
    private static final Pattern MSQ_PER_BLOCK = Pattern.compile("microscopiq-w(\\d+)-b(\\d+)-o(\\d+)-s([0-9.]+)-(e\\dm\\d)-l(\\d+)");
    private static final Pattern LOBCQ = Pattern.compile("lobcq-c(\\d+)-a(\\d+)(-local)?");
    private static final Pattern LOBCQ_FULL = Pattern.compile("lobcq-c(\\d+)-b(\\d+)-a(\\d+)-e(\\d+)-t(\\d+)(-local)?");
    private static final Pattern FQ = Pattern.compile("fineq-g(\\d+)-d([0-9.]+)-s(\\d+)");

    static QuantFormat parse(String id) {
        if (id == null) throw new IllegalArgumentException("format name is null; 'qbridge formats' lists them");
        String s = id.trim().toLowerCase(java.util.Locale.ROOT);
        switch (s) {
            case "mxint8": return MxFormat.MXINT8;
            case "mxfp8-e4m3": return MxFormat.MXFP8_E4M3;
            case "mxfp8-e5m2": return MxFormat.MXFP8_E5M2;
            case "mxfp6-e2m3": return MxFormat.MXFP6_E2M3;
            case "mxfp6-e3m2": return MxFormat.MXFP6_E3M2;
            case "mxfp4": return MxFormat.MXFP4;
            case "microscopiq-w4": return MicroScopiQFormat.W4;
            case "microscopiq-w2": return MicroScopiQFormat.W2;
            case "microscopiq-w4-c4": return MicroScopiQFormat.W4_C4;
            case "microscopiq-w2-c4": return MicroScopiQFormat.W2_C4;
            case "fineq": return FineQFormat.DEFAULT;
            case "lobcq": return LoBcqFormat.C8_A64;
            default:
        }
        try {
            Matcher m = RTN.matcher(s);
            if (m.matches()) return new IntGroupFormat(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), true);
            m = INT.matcher(s);
            if (m.matches()) return new IntGroupFormat(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(3)), m.group(2).equals("sym"));
            m = MX_B.matcher(s);
            if (m.matches()) return new MxFormat(((MxFormat) parse(m.group(1))).element(), Integer.parseInt(m.group(2)));
            m = MSQ.matcher(s);
            if (m.matches())
                return new MicroScopiQFormat(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)),
                        Double.parseDouble(m.group(5)), FpElement.valueOf(m.group(6).toUpperCase(java.util.Locale.ROOT)), Integer.parseInt(m.group(7)),
                        Integer.parseInt(m.group(8)), Integer.parseInt(m.group(9)));
            m = MSQ_PER_BLOCK.matcher(s);
            if (m.matches())
                return MicroScopiQFormat.perBlock(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                        Double.parseDouble(m.group(4)), FpElement.valueOf(m.group(5).toUpperCase(java.util.Locale.ROOT)), Integer.parseInt(m.group(6)));
            m = LOBCQ.matcher(s);
            if (m.matches()) return new LoBcqFormat(Integer.parseInt(m.group(1)), 8, Integer.parseInt(m.group(2)), 6, 31, m.group(3) != null);
            m = LOBCQ_FULL.matcher(s);
            if (m.matches())
                return new LoBcqFormat(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)),
                        Integer.parseInt(m.group(5)), m.group(6) != null);
            m = FQ.matcher(s);
            if (m.matches()) return new FineQFormat(Integer.parseInt(m.group(1)), Double.parseDouble(m.group(2)), Integer.parseInt(m.group(3)));
        } catch (IllegalArgumentException e) { // NumberFormatException included
            throw new IllegalArgumentException("bad format name '" + id + "': " + e.getMessage() + "; 'qbridge formats' lists the names", e);
        }
        throw new IllegalArgumentException(FormatNames.unknown("format", id, FormatNames.FIXED));
    }

    static <T extends QuantizedTensor> T cast(QuantFormat f, QuantizedTensor q, Class<T> type) {
        if (q == null) throw new IllegalArgumentException("quantized tensor is null");
        if (!f.equals(q.format()))
            throw new IllegalArgumentException("tensor is in format " + q.format().id() + ", not " + f.id());
        return type.cast(q);
    }

    static void checkFormat(QuantFormat f, PackedTensor p) {
        if (p == null) throw new IllegalArgumentException("packed tensor is null");
        if (!f.equals(p.format())) throw new IllegalArgumentException("packed tensor is in format " + p.format().id() + ", not " + f.id());
    }
}
