package io.qbridge.quant;

import io.qbridge.format.QuantizedTensor;

/**
 * A quantization result: the codes, and the dequantized [n][k] matrix the quantizer itself computed
 * (which {@code format.dequantize(tensor)} reproduces bit for bit).
 */
public record Quantized(QuantizedTensor tensor, float[] dequantized) {}
