/**
 * The packed-model container file ({@code .qbz}): a header with magic and version, a JSON manifest, and
 * 64-byte aligned tensors (packed quantized weights in their accelerator byte image, FP32 biases), each
 * with its sha256. Written atomically (temporary file, then rename), memory-mapped on load, every field
 * validated. The byte layout is specified in {@code docs/formats.md}.
 */
package io.qbridge.container;
