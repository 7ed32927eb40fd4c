/**
 * GGUF, llama.cpp's checkpoint format: {@link io.qbridge.model.gguf.GgufFile} parses and validates the header
 * (magic, version 2 or 3), the metadata key/values (every GGUF value type, arrays included), the tensor infos,
 * the alignment and the data offset, refusing any count or size that claims more than the file holds before it
 * allocates anything; {@link io.qbridge.model.gguf.GgmlType} is the closed set of tensor types and dequantizes
 * F32, F16, BF16, Q8_0 and Q4_0 exactly to FP32 from memory-mapped bytes.
 *
 * <p>The package knows nothing of LLaMA: {@code io.qbridge.model.llama.GgufCheckpoint} maps the tensors and the
 * {@code llama.*} keys onto the decoder's weights, and builds the tokenizer from {@code tokenizer.ggml.*}.
 */
package io.qbridge.model.gguf;
