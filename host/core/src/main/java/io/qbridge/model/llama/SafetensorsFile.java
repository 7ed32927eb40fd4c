package io.qbridge.model.llama;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.qbridge.json.JsonTrees;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * One {@code .safetensors} file: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}} with offsets relative to
 * the end of the header, then the data. The header is validated when the file is opened (offsets inside
 * the data, sizes equal to dtype x shape); tensors are copied out on demand through memory mapping.
 */
final class SafetensorsFile implements Closeable {
    /** Headers are a few hundred kB even for 70B models; more means a corrupt length. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    /** One tensor's header entry. {@code begin}/{@code end} are absolute file positions. */
    record Entry(String name, String dtype, long[] shape, long begin, long end) {
        long elements() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }

        String shapeString() {
            return Arrays.toString(shape);
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final Map<String, Entry> entries;

    private SafetensorsFile(Path file, FileChannel channel, Map<String, Entry> entries) {
        this.file = file;
        this.channel = channel;
        this.entries = entries;
    }

    static SafetensorsFile open(Path file) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("safetensors file " + file + " does not exist", e);
        }
        try {
            return new SafetensorsFile(file, ch, parseHeader(file, ch));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    Path file() { return file; }

    Map<String, Entry> entries() { return Collections.unmodifiableMap(entries); }

    /** The entry, or null. */
    Entry entry(String name) { return entries.get(name); }

    /**
     * Copies a 1-D or 2-D tensor as {@code rows x cols} F32 values into {@code dst[dstOffset...]}, source row r
     * landing at row {@code destRow(r)} ({@code null}: same order).
     */
    void copy(Entry e, int rows, int cols, float[] dst, int dstOffset, IntUnaryOperator destRow) throws IOException {
        TensorCopier.Dtype dtype = switch (e.dtype) {
            case "F32" -> TensorCopier.Dtype.F32;
            case "F16" -> TensorCopier.Dtype.F16;
            case "BF16" -> TensorCopier.Dtype.BF16;
            default -> throw new CheckpointException("tensor " + e.name + " in " + file + " has dtype " + e.dtype
                    + "; supported: F32, F16, BF16");
        };
        TensorCopier.copyRows(channel, e.begin, dtype, rows, cols, dst, dstOffset, destRow);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** Bytes per element of the dtypes safetensors defines (for size checks; we read only the float ones). */
    private static int dtypeBytes(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> -1;
        };
    }

    private static Map<String, Entry> parseHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) throw new CheckpointException("safetensors file " + file + " is truncated: " + size + " bytes, no header length");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0, file);
        long headerLength = lenBuf.flip().getLong();
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
            throw new CheckpointException("safetensors file " + file + " has a bad header length " + Long.toUnsignedString(headerLength)
                    + " (file is " + size + " bytes, limit " + MAX_HEADER_BYTES + ")");
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLength);
        readFully(ch, headerBuf, 8, file);
        JsonNode root;
        try {
            root = JsonTrees.parse(headerBuf.array(), false);
        } catch (JsonProcessingException e) {
            throw new CheckpointException("safetensors file " + file + " has a malformed JSON header: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new CheckpointException("safetensors file " + file + " has a header that is not a JSON object");
        long dataStart = 8 + headerLength;
        long dataBytes = size - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            if (name.equals("__metadata__")) continue;
            JsonNode t = field.getValue();
            String where = "tensor " + name + " in " + file;
            if (!t.isObject() || !t.path("dtype").isTextual() || !t.path("shape").isArray() || !t.path("data_offsets").isArray()
                    || t.get("data_offsets").size() != 2) {
                throw new CheckpointException(where + " needs dtype, shape and data_offsets [begin, end]: " + t);
            }
            String dtype = t.get("dtype").asText();
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = t.get("shape").get(i);
                if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) throw new CheckpointException(where + " has a bad shape " + t.get("shape"));
                shape[i] = d.asLong();
            }
            JsonNode b = t.get("data_offsets").get(0), e = t.get("data_offsets").get(1);
            if (!b.isIntegralNumber() || !e.isIntegralNumber() || !b.canConvertToLong() || !e.canConvertToLong()) {
                throw new CheckpointException(where + " has bad data_offsets " + t.get("data_offsets"));
            }
            long begin = b.asLong(), end = e.asLong();
            if (begin < 0 || end < begin || end > dataBytes) {
                throw new CheckpointException(where + " has data_offsets [" + begin + ", " + end + "] outside the " + dataBytes
                        + " data bytes of the file (truncated?)");
            }
            Entry entry = new Entry(name, dtype, shape, dataStart + begin, dataStart + end);
            int elementBytes = dtypeBytes(dtype);
            if (elementBytes > 0) {
                long expected;
                try {
                    expected = Math.multiplyExact(entry.elements(), elementBytes);
                } catch (ArithmeticException ex) {
                    throw new CheckpointException(where + " has a shape " + entry.shapeString() + " whose size overflows", ex);
                }
                if (expected != end - begin) {
                    throw new CheckpointException(where + " has data_offsets [" + begin + ", " + end + "] spanning " + (end - begin)
                            + " bytes, but " + dtype + " x " + entry.shapeString() + " needs " + expected);
                }
            }
            entries.put(name, entry);
        }
        return entries;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path file) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + buf.position()) < 0) throw new CheckpointException("safetensors file " + file + " is truncated");
        }
    }
}
