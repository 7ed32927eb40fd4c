package io.qbridge.container;

import io.qbridge.format.PackedTensor;

/** One tensor in a container: packed quantized weights, or plain FP32 values (biases). */
public sealed interface QbzEntry permits QbzEntry.Packed, QbzEntry.Floats {
    String name();

    /** A weight matrix in its accelerator byte image. */
    record Packed(String name, PackedTensor tensor) implements QbzEntry {}

    /** FP32 values stored little-endian, with their shape. */
    record Floats(String name, float[] values, long[] shape) implements QbzEntry {
        public Floats {
            long count = 1;
            for (long d : shape) count *= d;
            if (count != values.length) throw new IllegalArgumentException(name + ": shape does not match " + values.length + " values");
        }
    }
}
