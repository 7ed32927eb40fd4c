/**
 * The accelerator abstraction every device implements: what a device is ({@link io.qbridge.device.DeviceInfo}),
 * how weights become device-resident ({@link io.qbridge.device.Accelerator#load}), how one linear layer runs on it
 * ({@link io.qbridge.device.Accelerator#run}, with per-run timing, cycles and energy in
 * {@link io.qbridge.device.RunResult}), how it takes activations ({@link io.qbridge.device.ActivationMode}), and
 * the cycle and energy model every device reports beside what it measures
 * ({@link io.qbridge.device.PerformanceModel}, parameters in {@link io.qbridge.device.PerfConfig}).
 * It names no implementation: the emulator sits in its own module above this one, and choosing a device is
 * {@code io.qbridge.runtime.Devices}' job.
 */
package io.qbridge.device;
