/**
 * The packed-model container file ({@code .qbz}): a header with magic and version, a JSON manifest, and
 * 64-byte aligned tensors (packed quantized weights in their accelerator byte image, FP32 biases), each
 * with its sha256. Written atomically (temporary file, then rename), memory-mapped on load, every field
 * validated. The manifest names the base model the packed layers plug into and pins it by sha256: a built-in
 * alias, or a file base (an {@code .onnx} the container does not carry, with its tokenizer's sha256 and its
 * pooling). The byte layout and the compatibility rule are specified in {@code docs/formats.md}.
 */
package io.qbridge.container;
