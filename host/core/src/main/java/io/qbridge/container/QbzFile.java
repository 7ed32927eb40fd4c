package io.qbridge.container;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qbridge.files.Sha256;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.json.JsonTrees;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.llama.LlamaConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes {@code .qbz} containers.
 *
 * <pre>
 * offset 0   8 bytes  magic  'Q' 'B' 'Z' 0x01 '\r' '\n' 0x1A '\n'  (catches text-mode and truncation damage)
 * offset 8   u32 LE   container version (1)
 * offset 12  u32 LE   manifest length M (at most 64 MiB)
 * offset 16  M bytes  manifest, UTF-8 JSON
 * then zero padding; every tensor starts at a multiple of 64 bytes, at the offset the manifest gives,
 * and the file ends right after the last tensor (its length is in the manifest too).
 * </pre>
 * A packed tensor quantized with GPTQ's act-order keeps its columns in quantization order; its manifest entry
 * then carries {@code input_perm}, K integers: stored column j is input feature {@code input_perm[j]}. It is a
 * manifest field rather than a data section because it is small next to the tensor (4 bytes per input
 * feature, against N*b/8 bytes per column for the weights) and must be read before the tensor is used;
 * {@link #open} rejects it unless it is a permutation of 0..K-1.
 */
public final class QbzFile {
    static final byte[] MAGIC = {'Q', 'B', 'Z', 1, '\r', '\n', 0x1A, '\n'};
    public static final int VERSION = 1;
    /** The tensor format of FP32 values, and of opaque bytes ({@link QbzEntry.Bytes}). */
    public static final String F32 = "f32", BYTES = "bytes";
    static final int ALIGN = 64;
    static final int MAX_MANIFEST = 64 << 20;

    /** Writes manifests; only writers construct it (reading goes through {@link JsonTrees}, see there why). */
    private static final class Writer {
        static final ObjectMapper JSON = new ObjectMapper();
    }

    private final Path path;
    private final QbzManifest manifest;
    private final MappedByteBuffer data;

    private QbzFile(Path path, QbzManifest manifest, MappedByteBuffer data) {
        this.path = path;
        this.manifest = manifest;
        this.data = data;
    }

    public QbzManifest manifest() {
        return manifest;
    }

    public Path path() {
        return path;
    }

    /**
     * Writes a container atomically: everything goes to a temporary file beside {@code out}, which is
     * forced to disk and then renamed over {@code out}; on any failure the temporary file is removed and
     * {@code out} is untouched.
     */
    public static void write(Path out, String model, String baseSha256, String format, Map<String, String> settings, List<QbzEntry> entries)
            throws IOException {
        write(out, model, baseSha256, null, format, settings, entries);
    }

    /**
     * As {@link #write(Path, String, String, String, Map, List)}; {@code external} (null for a built-in base)
     * describes a base that is a file (see {@link QbzManifest}).
     */
    public static void write(Path out, String model, String baseSha256, QbzManifest.External external, String format, Map<String, String> settings,
                             List<QbzEntry> entries) throws IOException {
        write(out, model, baseSha256, (QbzManifest.Base) external, format, settings, entries);
    }

    /**
     * As {@link #write(Path, String, String, String, Map, List)} for any kind of base ({@link QbzManifest.Base}; null
     * is a built-in base).
     */
    public static void write(Path out, String model, String baseSha256, QbzManifest.Base base, String format, Map<String, String> settings,
                             List<QbzEntry> entries) throws IOException {
        Set<String> names = new HashSet<>();
        List<byte[]> payloads = new ArrayList<>();
        List<QbzManifest.Tensor> tensors = new ArrayList<>();
        for (QbzEntry e : entries) {
            if (!names.add(e.name())) throw new IllegalArgumentException("duplicate tensor name " + e.name());
            byte[] bytes;
            String fmt;
            long[] shape;
            int[] perm = null;
            switch (e) {
                case QbzEntry.Packed p -> {
                    bytes = p.tensor().bytes();
                    fmt = p.tensor().format().id();
                    shape = new long[] {p.tensor().n(), p.tensor().k()};
                    perm = p.inputPerm() == null ? null : p.inputPerm().clone();
                }
                case QbzEntry.Floats f -> {
                    ByteBuffer b = ByteBuffer.allocate(f.values().length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                    b.asFloatBuffer().put(f.values());
                    bytes = b.array();
                    fmt = F32;
                    shape = f.shape().clone();
                }
                case QbzEntry.Bytes raw -> {
                    bytes = raw.bytes().clone();
                    fmt = BYTES;
                    shape = new long[] {bytes.length};
                }
            }
            payloads.add(bytes);
            tensors.add(new QbzManifest.Tensor(e.name(), fmt, shape, 0, bytes.length, Sha256.hex(bytes), perm));
        }
        // Offsets depend on the manifest's length, which depends on the offsets' digits: iterate to a fixed point.
        byte[] manifestBytes = new byte[0];
        long[] offsets = new long[tensors.size()];
        long fileLength = 0;
        for (int iter = 0; iter < 8; iter++) {
            long pos = align(16L + manifestBytes.length);
            for (int i = 0; i < tensors.size(); i++) {
                offsets[i] = pos;
                pos = align(pos + tensors.get(i).length());
            }
            long last = tensors.isEmpty() ? 16L + manifestBytes.length : offsets[offsets.length - 1] + tensors.get(offsets.length - 1).length();
            List<QbzManifest.Tensor> placed = new ArrayList<>();
            for (int i = 0; i < tensors.size(); i++) {
                QbzManifest.Tensor t = tensors.get(i);
                placed.add(new QbzManifest.Tensor(t.name(), t.format(), t.shape(), offsets[i], t.length(), t.sha256(), t.inputPerm()));
            }
            byte[] next = toJson(new QbzManifest(model, baseSha256, base, format, settings, placed, last));
            if (Arrays.equals(next, manifestBytes)) {
                fileLength = last;
                break;
            }
            manifestBytes = next;
        }
        if (fileLength == 0) throw new IllegalStateException("manifest layout did not converge");

        Path tmp = io.qbridge.files.OutputFiles.tempBeside(out); // the user's umask, not createTempFile's 0600
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer head = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                head.put(MAGIC).putInt(VERSION).putInt(manifestBytes.length).flip();
                writeFully(ch, head, 0);
                writeFully(ch, ByteBuffer.wrap(manifestBytes), 16);
                for (int i = 0; i < payloads.size(); i++) writeFully(ch, ByteBuffer.wrap(payloads.get(i)), offsets[i]);
                if (ch.size() != fileLength) {
                    throw new IOException("wrote " + ch.size() + " bytes, expected " + fileLength);
                }
                ch.force(true);
            }
            io.qbridge.files.OutputFiles.replace(tmp, out);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) pos += ch.write(b, pos);
    }

    private static long align(long v) {
        return (v + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** Opens and validates a container: header, manifest, every tensor's bounds, alignment, size and sha256. */
    public static QbzFile open(Path path) throws IOException {
        return open(path, true);
    }

    /**
     * A container's manifest, checked as {@link #open} checks it except for the tensors' sha256: for a caller that
     * only needs the manifest (the format, whether it holds a decoder) before a full {@link #open} loads the tensors,
     * so that a large container is not hashed twice.
     */
    public static QbzManifest readManifest(Path path) throws IOException {
        return open(path, false).manifest();
    }

    private static QbzFile open(Path path, boolean verifyTensors) throws IOException {
        String src = path.toString();
        if (!Files.isRegularFile(path)) throw new ModelFormatException(src, "no such file");
        long size = Files.size(path);
        if (size < 16) throw new ModelFormatException(src, "too short for a .qbz header (" + size + " bytes)");
        if (size > Integer.MAX_VALUE) throw new ModelFormatException(src, "containers over 2 GiB are not supported");
        MappedByteBuffer data;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            data = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        }
        data.order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        data.get(0, magic);
        if (!Arrays.equals(magic, MAGIC)) throw new ModelFormatException(src, "bad magic: not a .qbz container");
        int version = data.getInt(8);
        if (version != VERSION) throw new ModelFormatException(src, "container version " + version + " is not supported (this build reads " + VERSION + ")");
        long mlen = Integer.toUnsignedLong(data.getInt(12));
        if (mlen > MAX_MANIFEST || 16 + mlen > size) throw new ModelFormatException(src, "manifest length " + mlen + " runs past the end of the file (" + size + " bytes): truncated");
        byte[] mbytes = new byte[(int) mlen];
        data.get(16, mbytes);
        QbzManifest m = parseManifest(mbytes, src);
        if (m.fileLength() != size) {
            throw new ModelFormatException(src, "file has " + size + " bytes but its manifest says " + m.fileLength() + (size < m.fileLength() ? " (truncated)" : ""));
        }
        long headerEnd = 16 + mlen;
        Set<String> names = new HashSet<>();
        for (QbzManifest.Tensor t : m.tensors()) {
            if (!names.add(t.name())) throw new ModelFormatException(src, "tensor '" + t.name() + "' appears twice");
            if (t.offset() % ALIGN != 0) throw new ModelFormatException(src, "tensor '" + t.name() + "' offset " + t.offset() + " is not 64-byte aligned");
            if (t.offset() < headerEnd || t.length() < 0 || t.offset() + t.length() > size) {
                throw new ModelFormatException(src, "tensor '" + t.name() + "' bytes [" + t.offset() + ", " + (t.offset() + t.length()) + ") fall outside the data area");
            }
            long expected = expectedLength(t, src);
            if (expected != t.length()) {
                throw new ModelFormatException(src, "tensor '" + t.name() + "' of shape " + Arrays.toString(t.shape()) + " in " + t.format()
                        + " needs " + expected + " bytes, manifest says " + t.length());
            }
            if (t.inputPerm() != null) {
                if (t.format().equals(F32) || t.format().equals(BYTES)) throw new ModelFormatException(src, "tensor '" + t.name() + "' is " + t.format() + " and cannot have an input_perm");
                try {
                    checkPermutation(t.inputPerm(), t.shape()[1], t.name());
                } catch (IllegalArgumentException e) {
                    throw new ModelFormatException(src, e.getMessage());
                }
            }
            if (!verifyTensors) continue;
            String actual = Sha256.hex(data.slice((int) t.offset(), (int) t.length()));
            if (!actual.equals(t.sha256())) throw new ModelFormatException(src, "tensor '" + t.name() + "' fails its sha256 check (corrupt file)");
        }
        return new QbzFile(path, m, data);
    }

    /** Throws unless {@code perm} holds each of 0..k-1 exactly once. */
    static void checkPermutation(int[] perm, long k, String name) {
        if (perm.length != k) throw new IllegalArgumentException("tensor '" + name + "' input_perm has " + perm.length + " entries, its K is " + k);
        boolean[] seen = new boolean[perm.length];
        for (int j = 0; j < perm.length; j++) {
            int v = perm[j];
            if (v < 0 || v >= perm.length) throw new IllegalArgumentException("tensor '" + name + "' input_perm[" + j + "] = " + v + " is outside [0, " + k + ")");
            if (seen[v]) throw new IllegalArgumentException("tensor '" + name + "' input_perm is not a permutation: " + v + " appears twice");
            seen[v] = true;
        }
    }

    private static long expectedLength(QbzManifest.Tensor t, String src) {
        if (t.format().equals(BYTES)) {
            if (t.shape().length != 1 || t.shape()[0] <= 0) throw new ModelFormatException(src, "bytes tensor '" + t.name() + "' must have a positive 1-D shape, got " + Arrays.toString(t.shape()));
            return t.shape()[0];
        }
        if (t.format().equals(F32)) {
            long count = 1;
            for (long d : t.shape()) {
                if (d <= 0) throw new ModelFormatException(src, "tensor '" + t.name() + "' has a non-positive dimension");
                count = Math.multiplyExact(count, d);
            }
            return count * Float.BYTES;
        }
        if (t.shape().length != 2 || t.shape()[0] <= 0 || t.shape()[1] <= 0 || t.shape()[0] > Integer.MAX_VALUE || t.shape()[1] > Integer.MAX_VALUE) {
            throw new ModelFormatException(src, "packed tensor '" + t.name() + "' must have a positive 2-D shape, got " + Arrays.toString(t.shape()));
        }
        return formatOf(t, src).packedBytes((int) t.shape()[0], (int) t.shape()[1]);
    }

    private static QuantFormat formatOf(QbzManifest.Tensor t, String src) {
        try {
            return QuantFormat.parse(t.format());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(src, "tensor '" + t.name() + "' has unknown format '" + t.format() + "'");
        }
    }

    public List<String> tensorNames() {
        return manifest.tensors().stream().map(QbzManifest.Tensor::name).toList();
    }

    private QbzManifest.Tensor tensor(String name) {
        for (QbzManifest.Tensor t : manifest.tensors()) if (t.name().equals(name)) return t;
        throw new ModelFormatException(path.toString(), "no tensor named '" + name + "'");
    }

    public boolean has(String name) {
        return manifest.tensors().stream().anyMatch(t -> t.name().equals(name));
    }

    /** A packed tensor's byte image (copied out of the mapping). */
    public PackedTensor packed(String name) {
        QbzManifest.Tensor t = tensor(name);
        if (t.format().equals(F32) || t.format().equals(BYTES)) throw new ModelFormatException(path.toString(), "tensor '" + name + "' is " + t.format() + ", not packed");
        byte[] bytes = new byte[(int) t.length()];
        data.get((int) t.offset(), bytes);
        return new PackedTensor(formatOf(t, path.toString()), (int) t.shape()[0], (int) t.shape()[1], bytes);
    }

    /**
     * The act-order column order of a packed tensor (stored column j is input feature {@code perm[j]}), or null
     * when its columns are in the original order.
     */
    public int[] inputPerm(String name) {
        int[] p = tensor(name).inputPerm();
        return p == null ? null : p.clone();
    }

    /** An f32 tensor's values. */
    public float[] floats(String name) {
        QbzManifest.Tensor t = tensor(name);
        if (!t.format().equals(F32)) throw new ModelFormatException(path.toString(), "tensor '" + name + "' is " + t.format() + ", not f32");
        float[] out = new float[(int) (t.length() / Float.BYTES)];
        data.slice((int) t.offset(), (int) t.length()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** A bytes tensor's contents. */
    public byte[] bytes(String name) {
        QbzManifest.Tensor t = tensor(name);
        if (!t.format().equals(BYTES)) throw new ModelFormatException(path.toString(), "tensor '" + name + "' is " + t.format() + ", not bytes");
        byte[] out = new byte[(int) t.length()];
        data.get((int) t.offset(), out);
        return out;
    }

    /** Reads only the manifest (e.g. to decide which base model to load). */
    static QbzManifest parseManifest(byte[] bytes, String src) {
        JsonNode root;
        try {
            root = JsonTrees.parse(bytes, true); // decimals exact: a decoder's float hyper-parameters are read back from their text
        } catch (IOException e) {
            throw new ModelFormatException(src, "manifest is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) throw new ModelFormatException(src, "manifest is not a JSON object");
        List<QbzManifest.Tensor> tensors = new ArrayList<>();
        JsonNode ts = root.get("tensors");
        if (ts == null || !ts.isArray()) throw new ModelFormatException(src, "manifest has no 'tensors' array");
        for (JsonNode t : ts) {
            JsonNode shapeNode = require(t, "shape", src);
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) shape[i] = shapeNode.get(i).asLong(-1);
            int[] perm = null;
            JsonNode permNode = t.get("input_perm");
            if (permNode != null && !permNode.isNull()) {
                if (!permNode.isArray()) throw new ModelFormatException(src, "manifest field 'input_perm' is not an array");
                perm = new int[permNode.size()];
                for (int i = 0; i < perm.length; i++) {
                    JsonNode v = permNode.get(i);
                    if (!v.canConvertToInt() || !v.isIntegralNumber()) throw new ModelFormatException(src, "manifest field 'input_perm' holds a non-integer " + v);
                    perm[i] = v.asInt();
                }
            }
            tensors.add(new QbzManifest.Tensor(text(t, "name", src), text(t, "format", src), shape, number(t, "offset", src),
                    number(t, "length", src), text(t, "sha256", src), perm));
        }
        Map<String, String> settings = new LinkedHashMap<>();
        JsonNode s = root.get("settings");
        if (s != null && s.isObject()) s.fields().forEachRemaining(e -> settings.put(e.getKey(), e.getValue().asText()));
        QbzManifest.Base base = null;
        if (root.has("base_decoder")) {
            if (root.has("base_tokenizer_sha256") || root.has("base_pooling")) throw new ModelFormatException(src, "manifest names both a decoder base and an ONNX file base");
            base = parseDecoder(root.get("base_decoder"), src);
        } else if (root.has("base_tokenizer_sha256") || root.has("base_pooling")) {
            String pooling = text(root, "base_pooling", src);
            if (!pooling.equals("cls") && !pooling.equals("mean")) throw new ModelFormatException(src, "manifest field 'base_pooling' is '" + pooling + "', not cls or mean");
            base = new QbzManifest.External(text(root, "base_tokenizer_sha256", src), pooling);
        }
        return new QbzManifest(text(root, "model", src), text(root, "base_sha256", src), base, text(root, "format", src), settings, tensors,
                number(root, "file_length", src));
    }

    /** The {@code base_decoder} object: family, checkpoint kind, the LLaMA config fields and the tokenizer entry's name. */
    private static QbzManifest.Decoder parseDecoder(JsonNode d, String src) {
        if (d == null || !d.isObject()) throw new ModelFormatException(src, "manifest field 'base_decoder' is not an object");
        try {
            LlamaConfig c = new LlamaConfig(integer(d, "dim", src), integer(d, "hidden_dim", src), integer(d, "n_layers", src), integer(d, "n_heads", src),
                    integer(d, "n_kv_heads", src), integer(d, "vocab_size", src), integer(d, "seq_len", src), float32(d, "rope_theta", src),
                    float32(d, "norm_eps", src), bool(d, "shared_classifier", src), integer(d, "bos_token_id", src), integer(d, "eos_token_id", src));
            return new QbzManifest.Decoder(text(d, "family", src), text(d, "checkpoint", src), c, text(d, "tokenizer", src));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(src, "manifest field 'base_decoder': " + e.getMessage());
        }
    }

    private static int integer(JsonNode n, String field, String src) {
        JsonNode v = require(n, field, src);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new ModelFormatException(src, "manifest field '" + field + "' is not a 32-bit integer");
        return v.asInt();
    }

    /** A float written by Jackson (Float.toString's shortest decimal) read back exactly: its decimal text parsed as a float, never via a double. */
    private static float float32(JsonNode n, String field, String src) {
        JsonNode v = require(n, field, src);
        if (!v.isNumber()) throw new ModelFormatException(src, "manifest field '" + field + "' is not a number");
        return Float.parseFloat(v.decimalValue().toString());
    }

    private static boolean bool(JsonNode n, String field, String src) {
        JsonNode v = require(n, field, src);
        if (!v.isBoolean()) throw new ModelFormatException(src, "manifest field '" + field + "' is not true or false");
        return v.booleanValue();
    }

    private static JsonNode require(JsonNode n, String field, String src) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) throw new ModelFormatException(src, "manifest entry lacks '" + field + "'");
        return v;
    }

    private static String text(JsonNode n, String field, String src) {
        JsonNode v = require(n, field, src);
        if (!v.isTextual()) throw new ModelFormatException(src, "manifest field '" + field + "' is not a string");
        return v.asText();
    }

    private static long number(JsonNode n, String field, String src) {
        JsonNode v = require(n, field, src);
        if (!v.canConvertToLong()) throw new ModelFormatException(src, "manifest field '" + field + "' is not an integer");
        return v.asLong();
    }

    private static byte[] toJson(QbzManifest m) throws JsonProcessingException {
        ObjectNode root = Writer.JSON.createObjectNode();
        root.put("container", "qbz");
        root.put("version", VERSION);
        root.put("model", m.model());
        root.put("base_sha256", m.baseSha256());
        switch (m.base()) { // nothing for a built-in base, so its containers keep their bytes
            case QbzManifest.Builtin b -> { }
            case QbzManifest.External e -> {
                root.put("base_tokenizer_sha256", e.tokenizerSha256());
                root.put("base_pooling", e.pooling());
            }
            case QbzManifest.Decoder d -> {
                ObjectNode o = root.putObject("base_decoder");
                LlamaConfig c = d.config();
                o.put("family", d.family());
                o.put("checkpoint", d.checkpoint());
                o.put("dim", c.dim());
                o.put("hidden_dim", c.hiddenDim());
                o.put("n_layers", c.nLayers());
                o.put("n_heads", c.nHeads());
                o.put("n_kv_heads", c.nKvHeads());
                o.put("vocab_size", c.vocabSize());
                o.put("seq_len", c.seqLen());
                o.put("rope_theta", c.ropeTheta());
                o.put("norm_eps", c.normEps());
                o.put("shared_classifier", c.sharedClassifier());
                o.put("bos_token_id", c.bosTokenId());
                o.put("eos_token_id", c.eosTokenId());
                o.put("tokenizer", d.tokenizer());
            }
        }
        root.put("format", m.format());
        ObjectNode settings = root.putObject("settings");
        m.settings().forEach(settings::put);
        ArrayNode ts = root.putArray("tensors");
        for (QbzManifest.Tensor t : m.tensors()) {
            ObjectNode o = ts.addObject();
            o.put("name", t.name());
            o.put("format", t.format());
            ArrayNode shape = o.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            o.put("offset", t.offset());
            o.put("length", t.length());
            o.put("sha256", t.sha256());
            if (t.inputPerm() != null) {
                ArrayNode perm = o.putArray("input_perm");
                for (int v : t.inputPerm()) perm.add(v);
            }
        }
        root.put("file_length", m.fileLength());
        return Writer.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    }
}
