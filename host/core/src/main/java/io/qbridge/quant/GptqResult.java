package io.qbridge.quant;

import io.qbridge.format.QuantizedTensor;

/**
 * The outcome of GPTQ.
 *
 * @param tensor      the codes, with columns in quantization order: column j of the tensor is input
 *                    feature {@code perm[j]} (the identity without act_order)
 * @param perm        the column order (length k), or null when no permutation was applied; a device
 *                    holding {@code tensor} must read activations as x[perm[j]]
 * @param dequantized the dequantized [n][k] matrix in the original column order
 * @param loss        sum over weights of (w - q)^2 / [chol(H^-1)]_jj^2, GPTQ's own error estimate
 */
public record GptqResult(QuantizedTensor tensor, int[] perm, float[] dequantized, double loss) {}
