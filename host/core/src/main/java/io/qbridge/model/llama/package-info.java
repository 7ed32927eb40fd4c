/**
 * The LLaMA-family decoder in FP32: its configuration ({@link io.qbridge.model.llama.LlamaConfig}), its
 * weights with every projection behind {@link io.qbridge.model.Linear} ({@link io.qbridge.model.llama.LlamaWeights}),
 * the checkpoint formats it loads (llama2.c's legacy {@code .bin}: {@link io.qbridge.model.llama.Llama2cCheckpoint};
 * Hugging Face safetensors directories: {@link io.qbridge.model.llama.HfCheckpoint}) and llama.cpp's GGUF
 * ({@link io.qbridge.model.llama.GgufCheckpoint}, over the parser in {@code io.qbridge.model.gguf}), the forward pass with its
 * KV cache ({@link io.qbridge.model.llama.LlamaDecoder}; it can also run one transformer block at a time on a residual
 * stream, {@code forwardBlock}, which block-by-block GPTQ calibration uses), token sampling as llama2.c's {@code run.c} does it
 * ({@link io.qbridge.model.llama.Sampler}), the generation loop ({@link io.qbridge.model.llama.Generator}) and the
 * speed tools ({@link io.qbridge.model.llama.RandomCheckpointWriter}, {@link io.qbridge.model.llama.DecoderBench}).
 *
 * <p>The package speaks token ids only; text goes through {@code io.qbridge.tokenizer}. One weight layout
 * for all formats: RoPE rotates interleaved pairs {@code (2i, 2i+1)} of each head as llama2.c does, and the
 * Hugging Face loader un-permutes the rows of {@code q_proj}/{@code k_proj} (which Hugging Face stores for
 * rotate-half RoPE) while it copies them, so the decoder, the quantizers and the accelerators see one layout.
 */
package io.qbridge.model.llama;
