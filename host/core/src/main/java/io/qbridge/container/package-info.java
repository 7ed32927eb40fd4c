/**
 * The packed-model container file ({@code .qbz}): a header with magic and version, a JSON manifest, and
 * 64-byte aligned tensors (packed quantized weights in their accelerator byte image, FP32 values, opaque bytes), each
 * with its sha256. Written atomically (temporary file, then rename), memory-mapped on load, every field
 * validated. The manifest names the base model and pins it by sha256 (a closed set of kinds,
 * {@link io.qbridge.container.QbzManifest.Base}): a built-in encoder alias or a file base (an {@code .onnx} the
 * container does not carry, with its tokenizer's sha256 and its pooling), whose packed layers plug into that base;
 * or a LLaMA decoder, which the container carries whole (FP32 embedding, norms and classifier, and the tokenizer's
 * file bytes as a {@code bytes} tensor). The byte layout and the compatibility rule are specified in {@code docs/formats.md}.
 */
package io.qbridge.container;
