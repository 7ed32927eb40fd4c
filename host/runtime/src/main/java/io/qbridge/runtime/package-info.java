/**
 * Models on an accelerator, and which accelerator: {@link io.qbridge.runtime.Devices} opens the device a command
 * or job asks for ({@code emulator}, {@code xrt} or {@code auto}; {@link io.qbridge.runtime.XrtProbe} looks for the
 * pieces a board needs; {@link io.qbridge.runtime.DeviceReport} lists what this host has for {@code qbridge devices}),
 * so the device API below it never names an implementation.
 * {@link io.qbridge.runtime.AcceleratorLinear} is the {@link io.qbridge.model.Linear} whose weights live on an
 * {@link io.qbridge.device.Accelerator}; {@link io.qbridge.runtime.AcceleratorModels} moves every linear layer of
 * an encoder, or every transformer-block linear layer of a LLaMA-family decoder, there;
 * {@link io.qbridge.runtime.RunStats} adds up what the runs cost (host time per stage, device cycles, bytes,
 * energy), in total and per layer; {@link io.qbridge.runtime.EncoderBench} measures latency the way
 * {@code qbridge bench} and remote bench jobs report it; and {@link io.qbridge.runtime.LayerRates} measures the
 * performance model's weight-dependent inputs (MicroScopiQ outlier rate, FineQ pulses per weight) on a built-in
 * encoder's layers, counted by the emulator's decoder.
 */
package io.qbridge.runtime;
