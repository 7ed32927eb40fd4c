package io.qbridge.format;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Name parsing and the type checks every format shares. */
final class QuantFormats {
    private QuantFormats() {}

    static final List<String> VALID_NAMES = List.of("rtn-w<2|3|4|8>g<group>", "int<2|3|4|8>-sym-g<group>", "int<2|3|4|8>-asym-g<group>",
            "mxint8", "mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp4", "microscopiq-w4", "microscopiq-w2", "fineq");

    private static final Pattern RTN = Pattern.compile("rtn-w(\\d+)g(\\d+)");
    private static final Pattern INT = Pattern.compile("int(\\d+)-(sym|asym)-g(\\d+)");

    static QuantFormat parse(String id) {
        if (id == null) throw new IllegalArgumentException("format name is null; valid names: " + String.join(", ", VALID_NAMES));
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
            case "fineq": return FineQFormat.DEFAULT;
            default:
        }
        try {
            Matcher m = RTN.matcher(s);
            if (m.matches()) return new IntGroupFormat(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), true);
            m = INT.matcher(s);
            if (m.matches()) return new IntGroupFormat(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(3)), m.group(2).equals("sym"));
        } catch (IllegalArgumentException e) { // NumberFormatException included
            throw new IllegalArgumentException("bad format name '" + id + "': " + e.getMessage() + "; valid names: " + String.join(", ", VALID_NAMES), e);
        }
        throw new IllegalArgumentException("unknown format '" + id + "'; valid names: " + String.join(", ", VALID_NAMES));
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
