package io.qbridge.model.llama;

import io.qbridge.model.gguf.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tests' own GGUF writer (version 3, little-endian), written from the GGUF layout, not from the reader:
 * metadata values are typed by their Java class (Integer as uint32, Long as uint64, Float as float32, Double as
 * float64, Boolean, String, String[] / float[] / int[] as arrays); tensors are quantized here as llama.cpp's
 * reference quantizers do ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}).
 */
final class GgufWriter {
    record Tensor(String name, long[] dims, GgmlType type, byte[] data) {}

    final Map<String, Object> metadata = new LinkedHashMap<>();
    final List<Tensor> tensors = new ArrayList<>();
    int alignment = 32;

    GgufWriter put(String key, Object value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor of {@code values} with {@code dims} innermost first, stored as {@code type}. */
    GgufWriter tensor(String name, GgmlType type, float[] values, long... dims) {
        tensors.add(new Tensor(name, dims, type, encode(type, values)));
        return this;
    }

    /** A whole LLaMA GGUF of {@code m}: every weight matrix as {@code type}, norms as F32. */
    static GgufWriter llama(TinyLlama m, GgmlType type) {
        LlamaConfig c = m.config;
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", "llama").put("general.name", "tiny")
                .put("llama.context_length", c.seqLen()).put("llama.embedding_length", c.dim())
                .put("llama.block_count", c.nLayers()).put("llama.feed_forward_length", c.hiddenDim())
                .put("llama.attention.head_count", c.nHeads()).put("llama.attention.head_count_kv", c.nKvHeads())
                .put("llama.rope.dimension_count", c.headSize()).put("llama.rope.freq_base", c.ropeTheta())
                .put("llama.attention.layer_norm_rms_epsilon", c.normEps());
        int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), vocab = c.vocabSize();
        w.tensor("token_embd.weight", type, m.embedding, dim, vocab);
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "blk." + l + ".";
            w.tensor(p + "attn_norm.weight", GgmlType.F32, m.attnNorm[l], dim);
            w.tensor(p + "attn_q.weight", type, m.wq[l], dim, dim);
            w.tensor(p + "attn_k.weight", type, m.wk[l], dim, kv);
            w.tensor(p + "attn_v.weight", type, m.wv[l], dim, kv);
            w.tensor(p + "attn_output.weight", type, m.wo[l], dim, dim);
            w.tensor(p + "ffn_norm.weight", GgmlType.F32, m.ffnNorm[l], dim);
            w.tensor(p + "ffn_gate.weight", type, m.w1[l], dim, hidden);
            w.tensor(p + "ffn_down.weight", type, m.w2[l], hidden, dim);
            w.tensor(p + "ffn_up.weight", type, m.w3[l], dim, hidden);
        }
        w.tensor("output_norm.weight", GgmlType.F32, m.finalNorm, dim);
        if (!c.sharedClassifier()) w.tensor("output.weight", type, m.classifier, dim, vocab);
        return w;
    }

    byte[] bytes() {
        Out o = new Out();
        o.raw(new byte[] {'G', 'G', 'U', 'F'});
        o.u32(3);
        o.u64(tensors.size());
        o.u64(metadata.size());
        for (Map.Entry<String, Object> e : metadata.entrySet()) {
            o.str(e.getKey());
            o.value(e.getValue(), true);
        }
        long offset = 0;
        List<Long> offsets = new ArrayList<>();
        for (Tensor t : tensors) {
            o.str(t.name);
            o.u32(t.dims.length);
            for (long d : t.dims) o.u64(d);
            o.u32(t.type.id);
            offsets.add(offset);
            o.u64(offset);
            offset = align(offset + t.data.length);
        }
        o.pad(align(o.size()));
        for (int i = 0; i < tensors.size(); i++) {
            o.raw(tensors.get(i).data);
            if (i + 1 < tensors.size()) o.pad(align(o.size())); // data starts aligned, so file and data offsets align alike
        }
        return o.toByteArray();
    }

    Path write(Path file) throws IOException {
        Files.write(file, bytes());
        return file;
    }

    private long align(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    static byte[] encode(GgmlType type, float[] v) {
        ByteBuffer b;
        switch (type) {
            case F32 -> {
                b = le(v.length * 4);
                for (float x : v) b.putFloat(x);
            }
            case F16 -> {
                b = le(v.length * 2);
                for (float x : v) b.putShort(Float.floatToFloat16(x));
            }
            case BF16 -> {
                b = le(v.length * 2);
                for (float x : v) b.putShort((short) (Float.floatToRawIntBits(x) >>> 16)); // truncation, exact for BF16 values
            }
            case Q8_0 -> {
                b = le(v.length / 32 * 34);
                for (int blk = 0; blk < v.length; blk += 32) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(v[blk + j]));
                    float d = amax / 127f, id = d != 0 ? 1 / d : 0;
                    b.putShort(Float.floatToFloat16(d));
                    for (int j = 0; j < 32; j++) b.put((byte) Math.round(v[blk + j] * id));
                }
            }
            case Q4_0 -> {
                b = le(v.length / 32 * 18);
                for (int blk = 0; blk < v.length; blk += 32) {
                    float amax = 0, max = 0;
                    for (int j = 0; j < 32; j++) {
                        if (Math.abs(v[blk + j]) > amax) {
                            amax = Math.abs(v[blk + j]);
                            max = v[blk + j];
                        }
                    }
                    float d = max / -8, id = d != 0 ? 1 / d : 0;
                    b.putShort(Float.floatToFloat16(d));
                    for (int j = 0; j < 16; j++) {
                        int lo = Math.min(15, (int) (v[blk + j] * id + 8.5f));
                        int hi = Math.min(15, (int) (v[blk + j + 16] * id + 8.5f));
                        b.put((byte) (lo | hi << 4));
                    }
                }
            }
            default -> throw new IllegalArgumentException(type + " is not written by the tests");
        }
        return b.array();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static final class Out extends ByteArrayOutputStream {
        void raw(byte[] b) {
            write(b, 0, b.length);
        }

        void u32(int v) {
            raw(le(4).putInt(v).array());
        }

        void u64(long v) {
            raw(le(8).putLong(v).array());
        }

        void str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            raw(b);
        }

        void pad(long to) {
            while (size() < to) write(0);
        }

        /** A value with its type tag first when {@code tagged} (array elements share the array's tag). */
        void value(Object v, boolean tagged) {
            switch (v) {
                case Integer i -> { if (tagged) u32(4); u32(i); }
                case Long l -> { if (tagged) u32(10); u64(l); }
                case Float f -> { if (tagged) u32(6); raw(le(4).putFloat(f).array()); }
                case Double d -> { if (tagged) u32(12); raw(le(8).putDouble(d).array()); }
                case Boolean z -> { if (tagged) u32(7); write(z ? 1 : 0); }
                case String s -> { if (tagged) u32(8); str(s); }
                case String[] a -> { u32(9); u32(8); u64(a.length); for (String s : a) str(s); }
                case float[] a -> { u32(9); u32(6); u64(a.length); for (float f : a) raw(le(4).putFloat(f).array()); }
                case int[] a -> { u32(9); u32(5); u64(a.length); for (int i : a) u32(i); }
                default -> throw new IllegalArgumentException("no GGUF type for " + v.getClass());
            }
        }
    }
}
