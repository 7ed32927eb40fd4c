package io.qbridge.format;

/**
 * LSB-first bit packing into byte arrays: bit {@code i} of a stream is bit {@code i % 8} of byte
 * {@code i / 8}. Every packed section in {@code docs/formats.md} uses this one convention, so a field of
 * width w at bit offset o is {@code (stream >> o) & (2^w - 1)} when the bytes are read as a little-endian
 * integer.
 */
final class Bits {
    private Bits() {}

    static void put(byte[] buf, long bitOffset, int width, int value) {
        for (int i = 0; i < width; i++) {
            long bit = bitOffset + i;
            int idx = (int) (bit >>> 3);
            int sh = (int) (bit & 7);
            if (((value >>> i) & 1) != 0) buf[idx] |= (byte) (1 << sh);
            else buf[idx] &= (byte) ~(1 << sh);
        }
    }

    static int get(byte[] buf, long bitOffset, int width) {
        int v = 0;
        for (int i = 0; i < width; i++) {
            long bit = bitOffset + i;
            v |= ((buf[(int) (bit >>> 3)] >>> (int) (bit & 7)) & 1) << i;
        }
        return v;
    }

    static void putShortLE(byte[] buf, int off, short v) {
        buf[off] = (byte) v;
        buf[off + 1] = (byte) (v >>> 8);
    }

    static short getShortLE(byte[] buf, int off) {
        return (short) ((buf[off] & 0xFF) | (buf[off + 1] << 8));
    }

    /** Bytes needed for {@code bits} bits, rounded up to a whole byte. */
    static long bytesFor(long bits) {
        return (bits + 7) >>> 3;
    }

    /** Sign-extends the low {@code width} bits of {@code v}. */
    static int signExtend(int v, int width) {
        int sh = 32 - width;
        return (v << sh) >> sh;
    }
}
