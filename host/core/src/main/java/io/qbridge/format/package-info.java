/**
 * Quantized weight formats: immutable configurations with an exact, documented byte image.
 *
 * <p>This package owns (1) the closed set of formats ({@link io.qbridge.format.QuantFormat}), (2) their
 * element codecs (OCP MX v1.0 minifloats, E8M0 scales, MX-INT, fp16), (3) the integer codes a quantized
 * tensor holds ({@link io.qbridge.format.QuantizedTensor}), (4) packing to and from the accelerator's byte
 * image ({@link io.qbridge.format.PackedTensor}) and dequantization, and (5) the per-block quantization
 * arithmetic ({@link io.qbridge.format.ColumnQuantizer}) that the algorithms in {@code io.qbridge.quant}
 * drive. Keeping the arithmetic here means RTN, GPTQ, pack and dequantize all share one implementation of
 * each rounding rule. {@code docs/formats.md} is the normative description of every byte layout.
 */
package io.qbridge.format;
