package io.qbridge.xrt;

/**
 * How {@code xrtRunSetArg} passes one kernel argument as its single C vararg. XRT reads the vararg by the
 * type the xclbin records, so a wrong kind is silent garbage on a card: every argument's kind is written once,
 * in {@link KernelSignature}, and checked against the xclbin's EMBEDDED_METADATA before the first run.
 */
public enum ArgKind {
    /** A global-memory ({@code m_axi}) pointer: the BO handle ({@code xrtBufferHandle}, a {@code void*}). */
    BUFFER,
    /** A 32-bit {@code s_axilite} scalar ({@code int}/{@code unsigned int}): passed as a C {@code int}. */
    SCALAR32,
    /** A 64-bit {@code s_axilite} scalar ({@code uint64_t}): passed as a C {@code uint64_t}. */
    SCALAR64;

    /** The kind an EMBEDDED_METADATA {@code <arg>} describes (addressQualifier 1 = global memory, 0 = scalar, size in bytes). */
    static ArgKind fromMetadata(int addressQualifier, long size) {
        if (addressQualifier == 1) return BUFFER;
        if (addressQualifier == 0 && size == 4) return SCALAR32;
        if (addressQualifier == 0 && size == 8) return SCALAR64;
        return null;
    }
}
