package io.qbridge.format;

import java.util.List;

/**
 * A weight format: an immutable configuration whose byte image, bits/weight and arithmetic are specified
 * exactly in {@code docs/formats.md}. The set is closed because the emulator and the HLS kernels implement
 * each member by hand.
 */
public sealed interface QuantFormat permits IntGroupFormat, MxFormat, MicroScopiQFormat, FineQFormat, LoBcqFormat {
    /** The canonical name, accepted back by {@link #parse(String)}. */
    String id();

    /** The exact size of the byte image of an [n][k] matrix (the formula in docs/formats.md). */
    long packedBytes(int n, int k);

    /** Every stored bit (codes, scales, metadata, padding) divided by n*k. */
    default double bitsPerWeight(int n, int k) {
        return 8.0 * packedBytes(n, k) / ((double) n * k);
    }

    PackedTensor pack(QuantizedTensor q);

    /** The exact inverse of {@link #pack}: {@code pack(unpackCodes(p))} is byte-identical to p. */
    QuantizedTensor unpackCodes(PackedTensor p);

    /** The dequantized [n][k] matrix, row-major. */
    float[] dequantize(QuantizedTensor q);

    default float[] dequantize(PackedTensor p) {
        return dequantize(unpackCodes(p));
    }

    /** A fresh quantizer for one [n][k] matrix (see {@link ColumnQuantizer}). */
    ColumnQuantizer columnQuantizer(int n, int k);

    /**
     * Parses a format name. Accepted: {@code rtn-w<b>g<g>} (symmetric INT, also {@code int<b>-sym-g<g>}),
     * {@code int<b>-asym-g<g>}, {@code mxint8}, {@code mxfp8-e4m3}, {@code mxfp8-e5m2}, {@code mxfp6-e2m3},
     * {@code mxfp6-e3m2}, {@code mxfp4}, {@code microscopiq-w4}, {@code microscopiq-w2}, {@code microscopiq-w4-c4},
     * {@code microscopiq-w2-c4} (the first, per-block MicroScopiQ layout), {@code fineq}, and the parameterised names.
     */
    static QuantFormat parse(String id) {
        return QuantFormats.parse(id);
    }

    /** The fixed names plus the INT name patterns, for help texts and error messages. */
    static List<String> validNames() {
        return QuantFormats.VALID_NAMES;
    }
}
