package io.qbridge.model.llama;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes small {@code .safetensors} files for tests, including deliberately broken ones. */
final class SafetensorsWriter {
    /** A tensor to write: values are converted to {@code dtype} (F32, F16 or BF16, truncating for BF16). */
    record Tensor(String dtype, long[] shape, float[] values) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {}

    /** The JSON header safetensors would write for these tensors, data packed in order. */
    static ObjectNode header(Map<String, Tensor> tensors) {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode n = root.putObject(e.getKey());
            n.put("dtype", t.dtype);
            var shape = n.putArray("shape");
            for (long d : t.shape) shape.add(d);
            long bytes = (long) t.values.length * (t.dtype.equals("F32") ? 4 : 2);
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        return root;
    }

    static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        write(file, JSON.writeValueAsString(header(tensors)).getBytes(StandardCharsets.UTF_8), data(tensors));
    }

    /** A file from raw parts: the header length is the header's length. */
    static void write(Path file, byte[] header, byte[] data) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            out.write(header);
            out.write(data);
        }
    }

    static byte[] data(Map<String, Tensor> tensors) {
        int total = 0;
        for (Tensor t : tensors.values()) total += t.values.length * (t.dtype.equals("F32") ? 4 : 2);
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor t : tensors.values()) {
            for (float v : t.values) {
                switch (t.dtype) {
                    case "F32" -> b.putFloat(v);
                    case "F16" -> b.putShort(Float.floatToFloat16(v));
                    case "BF16" -> b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
                    default -> throw new IllegalArgumentException(t.dtype);
                }
            }
        }
        return b.array();
    }

    /** Splits tensors over shard files and writes {@code model.safetensors.index.json}. */
    static void writeSharded(Path dir, Map<String, Tensor> tensors, int shards) throws IOException {
        List<String> names = List.copyOf(tensors.keySet());
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", 0);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int s = 0; s < shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            Map<String, Tensor> part = new LinkedHashMap<>();
            for (int i = s; i < names.size(); i += shards) {
                part.put(names.get(i), tensors.get(names.get(i)));
                weightMap.put(names.get(i), file);
            }
            write(dir.resolve(file), part);
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), JSON.writeValueAsString(index));
    }
}
