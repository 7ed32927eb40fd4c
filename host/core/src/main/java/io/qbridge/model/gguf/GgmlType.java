package io.qbridge.model.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The ggml tensor types a GGUF file may name, with their ids and block geometry (elements per block, bytes per
 * block), so that every tensor's size can be checked against the file whether or not we can dequantize it.
 * {@link #dequantizable()} ones are turned into FP32 exactly: each value is the float llama.cpp's reference
 * {@code dequantize_row_*} computes.
 */
public enum GgmlType {
    F32(0, 1, 4), F16(1, 1, 2), Q4_0(2, 32, 18), Q4_1(3, 32, 20), Q5_0(6, 32, 22), Q5_1(7, 32, 24),
    Q8_0(8, 32, 34), Q8_1(9, 32, 36), Q2_K(10, 256, 84), Q3_K(11, 256, 110), Q4_K(12, 256, 144),
    Q5_K(13, 256, 176), Q6_K(14, 256, 210), Q8_K(15, 256, 292), I8(24, 1, 1), I16(25, 1, 2), I32(26, 1, 4),
    I64(27, 1, 8), F64(28, 1, 8), BF16(30, 1, 2);

    /** The id in a GGUF tensor info. */
    public final int id;
    /** Elements per block; a tensor's row length must be a multiple of it. */
    public final int blockElements;
    /** Bytes per block. */
    public final int blockBytes;

    GgmlType(int id, int blockElements, int blockBytes) {
        this.id = id;
        this.blockElements = blockElements;
        this.blockBytes = blockBytes;
    }

    /** The type with this id, or null if it is none we know the geometry of. */
    public static GgmlType byId(long id) {
        for (GgmlType t : values()) if (t.id == id) return t;
        return null;
    }

    /** Whether {@link #dequantize} handles this type. */
    public boolean dequantizable() {
        return this == F32 || this == F16 || this == BF16 || this == Q8_0 || this == Q4_0;
    }

    /** Bytes of {@code elements} values (a whole number of blocks; the caller checked divisibility). */
    public long bytesFor(long elements) {
        return Math.multiplyExact(elements / blockElements, (long) blockBytes);
    }

    /**
     * Dequantizes {@code count} values (a multiple of {@link #blockElements}) from {@code src} (read from its
     * position, advanced past them) into {@code dst[off..]}.
     *
     * @throws UnsupportedOperationException for a type that is not {@link #dequantizable()}
     */
    public void dequantize(ByteBuffer src, int count, float[] dst, int off) {
        ByteBuffer in = src.order(ByteOrder.LITTLE_ENDIAN);
        switch (this) {
            case F32 -> {
                for (int i = 0; i < count; i++) dst[off + i] = in.getFloat();
            }
            case F16 -> {
                for (int i = 0; i < count; i++) dst[off + i] = Float.float16ToFloat(in.getShort());
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) dst[off + i] = Float.intBitsToFloat((in.getShort() & 0xFFFF) << 16);
            }
            case Q8_0 -> {
                // block: fp16 scale d, then 32 int8 q; value q * d (ggml's dequantize_row_q8_0)
                for (int b = 0; b < count; b += 32) {
                    float d = Float.float16ToFloat(in.getShort());
                    for (int j = 0; j < 32; j++) dst[off + b + j] = in.get() * d;
                }
            }
            case Q4_0 -> {
                // block: fp16 scale d, then 16 bytes; low nibbles are elements 0-15, high nibbles 16-31, value (q - 8) * d
                for (int b = 0; b < count; b += 32) {
                    float d = Float.float16ToFloat(in.getShort());
                    for (int j = 0; j < 16; j++) {
                        int q = in.get() & 0xFF;
                        dst[off + b + j] = ((q & 0x0F) - 8) * d;
                        dst[off + b + j + 16] = ((q >>> 4) - 8) * d;
                    }
                }
            }
            default -> throw new UnsupportedOperationException(name() + " tensors are not supported (supported: F32, F16, BF16, Q8_0, Q4_0)");
        }
    }
}
