package io.qbridge.format;

/**
 * A quantized [n][k] matrix as integer codes plus scales and per-block metadata, one record type per
 * format family. The fields hold exactly what the byte image holds (nothing derived), so
 * {@code unpackCodes(pack(q)).equals(q)} is a meaningful round trip. Records compare arrays by content.
 */
public sealed interface QuantizedTensor permits IntGroupTensor, MxTensor, MicroScopiQTensor, FineQTensor, LoBcqTensor {
    QuantFormat format();

    int n();

    int k();
}
