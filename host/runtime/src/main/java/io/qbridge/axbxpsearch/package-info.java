/**
 * The per-layer Ax-BxP configuration search ({@code docs/emulator.md} §9b, ours): {@link io.qbridge.axbxpsearch.AxBxpSearch}
 * chooses each linear layer's configuration from that layer's calibration input rows and its packed rtn-w8g&lt;g&gt;
 * weights alone, through the emulator's {@link io.qbridge.emulator.AxBxpKernel}, knowing nothing of the model;
 * {@link io.qbridge.axbxpsearch.AxBxpCalibration} captures those rows, from an encoder (calibration sentences) or a
 * LLaMA-family decoder (calibration sequences run token by token), on the host with the quantized weights.
 */
package io.qbridge.axbxpsearch;
