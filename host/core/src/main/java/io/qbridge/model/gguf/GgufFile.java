package io.qbridge.model.gguf;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open GGUF file (versions 2 and 3, little-endian): {@code "GGUF"}, uint32 version, uint64 tensor count,
 * uint64 metadata count; the metadata (a string key, a uint32 value type, the value; strings are a uint64 length
 * and UTF-8 bytes, arrays a uint32 element type, a uint64 count and the elements); the tensor infos (name, uint32
 * dimension count, uint64 dimensions with the innermost first, uint32 ggml type, uint64 offset from the data
 * start); then, at the next multiple of {@code general.alignment} (default 32), the tensor data.
 *
 * <p>Everything is checked while it is read: every count and length is compared with the bytes left in the file
 * before anything is allocated for it, every tensor must lie inside the file at an aligned offset, and its row
 * length must be a whole number of its type's blocks. Tensor bytes are memory-mapped when a tensor is read.
 * Metadata values are Java values: every integer type as a {@code Long} (uint64 as its two's-complement bits),
 * float32 as {@code Float}, float64 as {@code Double}, bool as {@code Boolean}, string as {@code String}, an
 * array as an unmodifiable {@code List} of those.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    private static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;
    // smallest encodings, to refuse a count the remaining bytes cannot hold before allocating for it
    private static final int MIN_KV_BYTES = 8 + 4 + 1, MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;

    /** One tensor's description; {@code dims[0]} is the row length (ggml's {@code ne[0]}). */
    public record TensorInfo(String name, long[] dims, GgmlType type, long offset, long elements, long bytes) {
        /** The dimensions outermost first, e.g. {@code [rows, cols]}, for messages. */
        public String shape() {
            long[] r = new long[dims.length];
            for (int i = 0; i < dims.length; i++) r[i] = dims[dims.length - 1 - i];
            return Arrays.toString(r);
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final int version;
    private final long alignment, dataOffset;
    private final Map<String, Object> metadata;
    private final Map<String, TensorInfo> tensors;

    private GgufFile(Path path, FileChannel channel, int version, long alignment, long dataOffset,
                     Map<String, Object> metadata, Map<String, TensorInfo> tensors) {
        this.path = path;
        this.channel = channel;
        this.version = version;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Opens and validates a GGUF file; the tensors are read later with {@link #read}. */
    public static GgufFile open(Path path) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new GgufException("GGUF file " + path + " does not exist", e);
        }
        try {
            GgufFile f = parse(path, ch);
            ch = null;
            return f;
        } finally {
            if (ch != null) ch.close();
        }
    }

    private static GgufFile parse(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        // The header, metadata and tensor infos come first; a buffer over at most 2 GiB of the file holds them.
        ByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, Integer.MAX_VALUE - 8)).order(ByteOrder.LITTLE_ENDIAN);
        Reader r = new Reader(path, buf);
        try {
            r.need(4, "the magic");
            int magic = buf.getInt();
            if (magic != MAGIC) throw r.error("is not a GGUF file (bad magic 0x" + String.format("%08x", Integer.reverseBytes(magic)) + ", expected \"GGUF\")");
            r.need(4, "the version");
            int version = buf.getInt();
            if (version != 2 && version != 3) throw r.error("has GGUF version " + Integer.toUnsignedString(version) + ", which is not supported (only 2 and 3)");
            r.need(16, "the header");
            long tensorCount = buf.getLong(), kvCount = buf.getLong();
            r.count(kvCount, MIN_KV_BYTES, "metadata key/values");
            Map<String, Object> metadata = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = r.string("metadata key " + i);
                int type = r.u32("the type of metadata " + GgufException.shown(key));
                Object value = r.value(type, GgufException.shown(key));
                if (metadata.put(key, value) != null) throw r.error("has metadata key " + GgufException.shown(key) + " twice");
            }
            long alignment = DEFAULT_ALIGNMENT;
            Object a = metadata.get("general.alignment");
            if (a != null) {
                if (!(a instanceof Long l) || l <= 0 || Long.bitCount(l) != 1 || l > (1 << 20)) {
                    throw r.error("has a bad general.alignment " + GgufException.shown(a) + " (must be a power of two integer)");
                }
                alignment = l;
            }
            r.count(tensorCount, MIN_TENSOR_INFO_BYTES, "tensor infos");
            List<TensorInfo> infos = new ArrayList<>();
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                String fullName = r.string("the name of tensor " + i);
                String name = GgufException.shown(fullName); // for messages
                int nDims = r.u32("the dimension count of tensor " + name);
                if (nDims < 1 || nDims > MAX_DIMS) throw r.error("has tensor " + name + " with " + Integer.toUnsignedString(nDims) + " dimensions (1 to " + MAX_DIMS + " allowed)");
                r.need(8L * nDims, "the dimensions of tensor " + name);
                long[] dims = new long[nDims];
                long elements = 1;
                for (int d = 0; d < nDims; d++) {
                    dims[d] = buf.getLong();
                    if (dims[d] <= 0) throw r.error("has tensor " + name + " with dimension " + Long.toUnsignedString(dims[d]));
                    elements = saturatingMultiply(elements, dims[d]); // an overflow is refused below as past the end
                }
                int typeId = r.u32("the type of tensor " + name);
                GgmlType type = GgmlType.byId(Integer.toUnsignedLong(typeId));
                if (type == null) throw r.error("has tensor " + name + " of unknown or unsupported ggml type " + Integer.toUnsignedString(typeId));
                r.need(8, "the offset of tensor " + name);
                long offset = buf.getLong();
                if (dims[0] % type.blockElements != 0) {
                    throw r.error("has tensor " + name + " of type " + type + " whose row length " + dims[0] + " is not a multiple of its block size " + type.blockElements);
                }
                long bytes = saturatingMultiply(elements / type.blockElements, type.blockBytes);
                TensorInfo t = new TensorInfo(fullName, dims, type, offset, elements, bytes);
                if (tensors.put(fullName, t) != null) throw r.error("has tensor " + name + " twice");
                infos.add(t);
            }
            long dataOffset = Math.ceilDiv((long) buf.position(), alignment) * alignment;
            for (TensorInfo t : infos) {
                if (t.offset < 0 || t.offset % alignment != 0) {
                    throw r.error("has tensor " + GgufException.shown(t.name) + " at offset " + Long.toUnsignedString(t.offset) + ", not a multiple of the alignment " + alignment);
                }
                if (t.bytes > size || t.offset > size - dataOffset - t.bytes) {
                    throw r.error("has tensor " + GgufException.shown(t.name) + " " + t.type + " " + t.shape() + " that ends past the end of the file ("
                            + (t.bytes == Long.MAX_VALUE ? "its size overflows" : "data bytes " + t.offset + ".." + (t.offset + t.bytes) + " from byte " + dataOffset + ", file " + size + " bytes") + ")");
                }
            }
            // Tensors may not share bytes: then the FP32 arrays a loader allocates are bounded by the file's size.
            List<TensorInfo> byOffset = new ArrayList<>(infos);
            byOffset.sort((x, y) -> Long.compare(x.offset, y.offset));
            for (int i = 1; i < byOffset.size(); i++) {
                TensorInfo prev = byOffset.get(i - 1), t = byOffset.get(i);
                if (t.offset < prev.offset + prev.bytes) throw r.error("has tensors " + GgufException.shown(prev.name) + " and " + GgufException.shown(t.name) + " that overlap");
            }
            return new GgufFile(path, ch, version, alignment, dataOffset, metadata, tensors);
        } catch (BufferUnderflowException e) {
            throw r.error("is truncated (ends at byte " + buf.position() + ")");
        }
    }

    private static long saturatingMultiply(long a, long b) {
        long hi = Math.multiplyHigh(a, b), lo = a * b;
        return hi != 0 || lo < 0 ? Long.MAX_VALUE : lo;
    }

    public Path path() { return path; }

    public int version() { return version; }

    public long alignment() { return alignment; }

    /** Where the tensor data starts: the end of the tensor infos rounded up to the alignment. */
    public long dataOffset() { return dataOffset; }

    /** Every metadata key/value, in file order. */
    public Map<String, Object> metadata() { return metadata; }

    /** Every tensor info by name, in file order. */
    public Map<String, TensorInfo> tensors() { return tensors; }

    /** The tensor called {@code name}, or a one-line error. */
    public TensorInfo tensor(String name) throws GgufException {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new GgufException("GGUF file " + path + " lacks tensor " + name);
        return t;
    }

    /**
     * Dequantizes a whole tensor into {@code dst[off..]}, after checking that its shape, innermost first, is
     * {@code dims} (e.g. {@code cols, rows}).
     */
    public void read(String name, float[] dst, int off, long... dims) throws IOException {
        TensorInfo t = check(name, dims);
        if (t.bytes > Integer.MAX_VALUE - 8) throw new GgufException("GGUF file " + path + " has tensor " + name + " of " + t.bytes + " bytes, more than one mapping holds");
        ByteBuffer data = channel.map(FileChannel.MapMode.READ_ONLY, dataOffset + t.offset, t.bytes);
        t.type.dequantize(data, (int) t.elements, dst, off);
    }

    /**
     * The tensor called {@code name} after checking that it exists, has the shape {@code dims} (innermost first)
     * and a type we dequantize: loaders check every tensor before they allocate for any.
     */
    public TensorInfo check(String name, long... dims) throws GgufException {
        TensorInfo t = tensor(name);
        // trailing dimensions of 1 are the same tensor
        int n = t.dims.length;
        while (n > dims.length && t.dims[n - 1] == 1) n--;
        if (!Arrays.equals(Arrays.copyOf(t.dims, n), dims)) {
            long[] want = new long[dims.length];
            for (int i = 0; i < dims.length; i++) want[i] = dims[dims.length - 1 - i];
            throw new GgufException("GGUF file " + path + " has tensor " + name + " of shape " + t.shape() + ", expected " + Arrays.toString(want));
        }
        if (!t.type.dequantizable()) {
            throw new GgufException("GGUF file " + path + " has tensor " + name + " of type " + t.type + ", which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0)");
        }
        return t;
    }

    /** The number of elements of a tensor, for sizing arrays. */
    public long elements(String name) throws GgufException {
        return tensor(name).elements;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** Bounds-checked reads over the header region; every error names the file. */
    private static final class Reader {
        private final Path path;
        private final ByteBuffer buf;

        Reader(Path path, ByteBuffer buf) {
            this.path = path;
            this.buf = buf;
        }

        GgufException error(String what) {
            return new GgufException("GGUF file " + path + " " + what);
        }

        void need(long bytes, String what) throws GgufException {
            if (bytes > buf.remaining()) {
                throw error("is truncated: " + what + " at byte " + buf.position() + " needs " + bytes + " bytes, " + buf.remaining() + " left");
            }
        }

        /** Refuses a count whose smallest encoding is more than the bytes left. */
        void count(long n, int minBytes, String what) throws GgufException {
            if (n < 0 || n > buf.remaining() / minBytes) {
                throw error("claims " + Long.toUnsignedString(n) + " " + what + " at byte " + buf.position() + ", more than its " + buf.remaining() + " remaining bytes can hold");
            }
        }

        int u32(String what) throws GgufException {
            need(4, what);
            return buf.getInt();
        }

        String string(String what) throws GgufException {
            need(8, what);
            long len = buf.getLong();
            if (len < 0 || len > buf.remaining()) {
                throw error("has a string (" + what + ") of " + Long.toUnsignedString(len) + " bytes at byte " + (buf.position() - 8) + ", past the end of the file");
            }
            byte[] b = new byte[(int) len];
            buf.get(b);
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw error("has a string (" + what + ") that is not UTF-8");
            }
        }

        Object value(int type, String key) throws GgufException {
            return switch (type) {
                case 0 -> { need(1, key); yield (long) (buf.get() & 0xFF); }
                case 1 -> { need(1, key); yield (long) buf.get(); }
                case 2 -> { need(2, key); yield (long) (buf.getShort() & 0xFFFF); }
                case 3 -> { need(2, key); yield (long) buf.getShort(); }
                case 4 -> { need(4, key); yield Integer.toUnsignedLong(buf.getInt()); }
                case 5 -> { need(4, key); yield (long) buf.getInt(); }
                case 6 -> { need(4, key); yield buf.getFloat(); }
                case 7 -> {
                    need(1, key);
                    byte b = buf.get();
                    if (b != 0 && b != 1) throw error("has metadata " + key + " with bool value " + b);
                    yield b == 1;
                }
                case 8 -> string("metadata " + key);
                case 9 -> {
                    int elementType = u32("the element type of metadata " + key);
                    if (elementType == 9) throw error("has metadata " + key + ", an array of arrays, which is not supported");
                    need(8, "the length of metadata " + key);
                    long n = buf.getLong();
                    count(n, minBytes(elementType, key), "elements in metadata array " + key);
                    List<Object> list = new ArrayList<>((int) n);
                    for (long i = 0; i < n; i++) list.add(value(elementType, key));
                    yield Collections.unmodifiableList(list);
                }
                case 10, 11 -> { need(8, key); yield buf.getLong(); }
                case 12 -> { need(8, key); yield buf.getDouble(); }
                default -> throw error("has metadata " + key + " of unknown value type " + Integer.toUnsignedString(type));
            };
        }

        private int minBytes(int type, String key) throws GgufException {
            return switch (type) {
                case 0, 1, 7 -> 1;
                case 2, 3 -> 2;
                case 4, 5, 6 -> 4;
                case 8, 10, 11, 12 -> 8;
                default -> throw error("has metadata array " + key + " of unknown element type " + Integer.toUnsignedString(type));
            };
        }
    }
}
