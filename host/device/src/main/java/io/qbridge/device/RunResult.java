package io.qbridge.device;

/**
 * What one {@link Accelerator#run} cost.
 *
 * <p>Host side: wall-clock nanoseconds of the four stages the host sees (quantizing activations, moving
 * them to and from the device buffers, computing, dequantizing into FP32). Device side: the performance
 * model's cycle count, the time those cycles take at the device clock, the bytes moved between off-chip
 * memory and the chip, the energy in joules, and whether the run is limited by compute or by memory.
 * A device behind XRT also reports what it measured ({@link Measured}); the emulator leaves it null.
 */
public record RunResult(long quantizeNanos, long transferNanos, long computeNanos, long dequantizeNanos,
                        long deviceCycles, double deviceSeconds, long bytesMoved, double energyJoules, Bound bound, long macs, Measured measured) {
    /** Which resource limits the modelled run time. */
    public enum Bound { COMPUTE, MEMORY }

    /**
     * Measured on an XRT device: host-to-device transfer ({@code xrtBOSync} to the device, with the write into
     * the buffer), device-to-host transfer (sync back and read), on-device time from {@code xrtRunStart} to
     * completion, and the kernel's own cycle count where the device reports one (the software device's
     * C-simulation counter; -1 when unknown).
     */
    public record Measured(long hostToDeviceNanos, long deviceToHostNanos, long onDeviceNanos, long countedCycles) {}

    /** A result without measurements (the emulator's). */
    public RunResult(long quantizeNanos, long transferNanos, long computeNanos, long dequantizeNanos,
                     long deviceCycles, double deviceSeconds, long bytesMoved, double energyJoules, Bound bound, long macs) {
        this(quantizeNanos, transferNanos, computeNanos, dequantizeNanos, deviceCycles, deviceSeconds, bytesMoved, energyJoules, bound, macs, null);
    }

    public long hostNanos() {
        return quantizeNanos + transferNanos + computeNanos + dequantizeNanos;
    }
}
