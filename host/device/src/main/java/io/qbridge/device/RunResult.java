package io.qbridge.device;

/**
 * What one {@link Accelerator#run} cost.
 *
 * <p>Host side: wall-clock nanoseconds of the four stages the host sees (quantizing activations, moving
 * them to and from the device buffers, computing, dequantizing into FP32). Device side: the performance
 * model's cycle count, the time those cycles take at the device clock, the bytes moved between off-chip
 * memory and the chip, the energy in joules, and whether the run is limited by compute or by memory.
 */
public record RunResult(long quantizeNanos, long transferNanos, long computeNanos, long dequantizeNanos,
                        long deviceCycles, double deviceSeconds, long bytesMoved, double energyJoules, Bound bound, long macs) {
    /** Which resource limits the modelled run time. */
    public enum Bound { COMPUTE, MEMORY }

    public long hostNanos() {
        return quantizeNanos + transferNanos + computeNanos + dequantizeNanos;
    }
}
