/**
 * Model-level quantization and evaluation: a {@link io.qbridge.pipeline.QuantRecipe} names a format and
 * an algorithm; {@link io.qbridge.pipeline.EncoderQuantizer} calibrates on real text and quantizes every
 * linear layer of an encoder in forward order, {@link io.qbridge.pipeline.DecoderQuantizer} the block linears of a LLaMA
 * decoder (GPTQ calibration block by block) and {@link io.qbridge.pipeline.DecoderEvaluator} measures its perplexity (a container's too), {@link io.qbridge.pipeline.TextGeneration} generates text with it (for the CLI and the server alike); {@link io.qbridge.pipeline.QuantizedEncoders} writes and
 * loads encoder {@code .qbz} containers (on a built-in base, or on a {@link io.qbridge.pipeline.FileBase} found by its sha256),
 * {@link io.qbridge.pipeline.QuantizedDecoders} decoder containers that carry the whole model and its tokenizer; {@link io.qbridge.pipeline.QualityReport} measures what a format keeps.
 * It sits above {@code model}, {@code quant}, {@code format} and {@code container}, and below {@code cli}.
 */
package io.qbridge.pipeline;
