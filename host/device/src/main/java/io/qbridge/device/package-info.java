/**
 * The accelerator abstraction: what a device is ({@link io.qbridge.device.DeviceInfo}), how weights become
 * device-resident ({@link io.qbridge.device.Accelerator#load}), how one linear layer runs on it
 * ({@link io.qbridge.device.Accelerator#run}, with per-run timing, cycles and energy in
 * {@link io.qbridge.device.RunResult}), and how a device is chosen ({@link io.qbridge.runtime.Devices}).
 * The bit-exact software model lives in {@code io.qbridge.emulator}; the XRT binding is a later issue.
 */
package io.qbridge.device;
