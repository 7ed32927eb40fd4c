package io.qbridge.model.llama;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.util.function.IntUnaryOperator;

/**
 * Copies a row-major tensor from a file into a heap {@code float[]} through memory-mapped windows, converting
 * F16/BF16 to F32 on the way. Each value is copied once; the file is never read whole into a byte array.
 * Windows hold whole rows and stay below 1 GiB ({@link FileChannel#map} takes at most 2 GiB).
 */
final class TensorCopier {
    /** Element types we read, with their sizes in bytes. */
    enum Dtype {
        F32(4), F16(2), BF16(2);

        final int bytes;

        Dtype(int bytes) { this.bytes = bytes; }
    }

    private static final long WINDOW_BYTES = 1L << 30;

    private TensorCopier() {}

    /**
     * Copies {@code rows x cols} values stored at byte {@code position} of {@code ch}. Source row {@code r}
     * lands at {@code dst[dstOffset + destRow(r) * cols]}; {@code destRow == null} keeps the order.
     */
    static void copyRows(FileChannel ch, long position, Dtype dtype, int rows, int cols, float[] dst, int dstOffset,
                         IntUnaryOperator destRow) throws IOException {
        long rowBytes = (long) cols * dtype.bytes;
        if (rowBytes > WINDOW_BYTES) throw new IOException("a row of " + cols + " values is too long to map");
        if ((long) dstOffset + (long) rows * cols > dst.length) {
            throw new IllegalArgumentException("destination holds " + dst.length + " values, need " + (dstOffset + (long) rows * cols));
        }
        int rowsPerWindow = (int) Math.max(1, WINDOW_BYTES / rowBytes);
        short[] halfRow = dtype == Dtype.F32 ? null : new short[cols];
        for (int r0 = 0; r0 < rows; r0 += rowsPerWindow) {
            int n = Math.min(rowsPerWindow, rows - r0);
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, position + r0 * rowBytes, n * rowBytes);
            map.order(ByteOrder.LITTLE_ENDIAN);
            if (dtype == Dtype.F32) {
                FloatBuffer fb = map.asFloatBuffer();
                if (destRow == null) {
                    fb.get(0, dst, dstOffset + r0 * cols, n * cols);
                } else {
                    for (int r = 0; r < n; r++) fb.get(r * cols, dst, dstOffset + destRow.applyAsInt(r0 + r) * cols, cols);
                }
            } else {
                ShortBuffer sb = map.asShortBuffer();
                for (int r = 0; r < n; r++) {
                    sb.get(r * cols, halfRow, 0, cols);
                    int o = dstOffset + (destRow == null ? r0 + r : destRow.applyAsInt(r0 + r)) * cols;
                    if (dtype == Dtype.BF16) {
                        // bfloat16 is the top half of a float32.
                        for (int i = 0; i < cols; i++) dst[o + i] = Float.intBitsToFloat(halfRow[i] << 16);
                    } else {
                        for (int i = 0; i < cols; i++) dst[o + i] = Float.float16ToFloat(halfRow[i]);
                    }
                }
            }
        }
    }
}
