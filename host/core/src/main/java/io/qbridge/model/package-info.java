/**
 * Model definitions and the FP32 forward passes: the BERT-style encoder ({@code bge-small}, {@code MiniLM}),
 * the LLaMA-family decoder, and the {@link io.qbridge.model.Linear} abstraction through which every matrix
 * product of every model goes, so that later layers (quantized weights, accelerators) replace the
 * arithmetic without touching the model code.
 */
package io.qbridge.model;
