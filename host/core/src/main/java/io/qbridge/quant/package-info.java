/**
 * Quantization algorithms: round-to-nearest ({@link io.qbridge.quant.Rtn}) and GPTQ
 * ({@link io.qbridge.quant.Gptq}) with its Hessian accumulation and inverse-Hessian factorization.
 *
 * <p>This package owns the order in which weights are visited and how quantization error is fed back;
 * it owns no rounding rule. Every format's arithmetic lives behind
 * {@link io.qbridge.format.ColumnQuantizer}, and RTN is literally the GPTQ column loop without feedback,
 * so both produce codes through the same code path that {@code dequantize} mirrors. It also owns LO-BCQ's codebook
 * design ({@link io.qbridge.quant.LoBcqDesign}: clustering and Lloyd-Max on normalised blocks).
 */
package io.qbridge.quant;
