package io.qbridge.container;

import io.qbridge.format.PackedTensor;

/** One tensor in a container: packed quantized weights, plain FP32 values (biases, norms, embeddings), or opaque bytes (a tokenizer file). */
public sealed interface QbzEntry permits QbzEntry.Packed, QbzEntry.Floats, QbzEntry.Bytes {
    String name();

    /**
     * A weight matrix in its accelerator byte image. {@code inputPerm} is null, or the act-order column order
     * (stored column j is input feature {@code inputPerm[j]}, a permutation of 0..K-1).
     */
    record Packed(String name, PackedTensor tensor, int[] inputPerm) implements QbzEntry {
        public Packed {
            if (inputPerm != null) QbzFile.checkPermutation(inputPerm, tensor.k(), name);
        }

        public Packed(String name, PackedTensor tensor) {
            this(name, tensor, null);
        }
    }

    /** FP32 values stored little-endian, with their shape. */
    record Floats(String name, float[] values, long[] shape) implements QbzEntry {
        public Floats {
            long count = 1;
            for (long d : shape) count *= d;
            if (count != values.length) throw new IllegalArgumentException(name + ": shape does not match " + values.length + " values");
        }
    }

    /** An opaque byte string stored as it is (format {@code bytes}, shape {@code [length]}): a decoder's tokenizer file. */
    record Bytes(String name, byte[] bytes) implements QbzEntry {
        public Bytes {
            if (bytes.length == 0) throw new IllegalArgumentException(name + ": an empty byte entry");
        }
    }
}
