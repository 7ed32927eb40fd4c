package io.qbridge.model.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.qbridge.model.ModelFormatException;
import io.qbridge.protocol.onnx.Onnx;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An ONNX model read into memory: its initializers (by name), its nodes (by name) and the values of its
 * {@code Constant} nodes (by output name). Tensor payloads are aliased from the file bytes while parsing
 * and decoded to Java arrays on demand, so each weight is copied exactly once.
 */
public final class OnnxGraph {
    private final String source;
    private final Onnx.ModelProto model;
    private final Map<String, Onnx.TensorProto> initializers = new HashMap<>();
    private final Map<String, Onnx.NodeProto> nodesByName = new HashMap<>();
    private final Map<String, Onnx.TensorProto> constants = new HashMap<>();

    private OnnxGraph(String source, Onnx.ModelProto model) {
        this.source = source;
        this.model = model;
        if (!model.hasGraph()) throw new ModelFormatException(source, "ONNX model has no graph");
        for (Onnx.TensorProto t : model.getGraph().getInitializerList()) initializers.put(t.getName(), t);
        for (Onnx.NodeProto n : model.getGraph().getNodeList()) {
            nodesByName.put(n.getName(), n);
            if (n.getOpType().equals("Constant")) {
                for (Onnx.AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value") && a.hasT() && n.getOutputCount() == 1) constants.put(n.getOutput(0), a.getT());
                }
            }
        }
    }

    /** Parses an ONNX file held in {@code bytes} (which must stay unchanged: tensors alias it). */
    public static OnnxGraph parse(byte[] bytes, String source) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            Onnx.ModelProto model = Onnx.ModelProto.parseFrom(in);
            if (model.getIrVersion() <= 0 || !model.hasGraph()) {
                throw new ModelFormatException(source, "not an ONNX model (no IR version or graph; " + bytes.length + " bytes)");
            }
            return new OnnxGraph(source, model);
        } catch (InvalidProtocolBufferException e) {
            throw new ModelFormatException(source, "not an ONNX model: not a valid ONNX protobuf (truncated or corrupt): " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(source, "cannot read ONNX data: " + e.getMessage(), e);
        }
    }

    public static OnnxGraph read(InputStream in, String source) throws IOException {
        return parse(in.readAllBytes(), source);
    }

    public String source() {
        return source;
    }

    public String producer() {
        return model.getProducerName() + " " + model.getProducerVersion();
    }

    public List<Onnx.TensorProto> initializerList() {
        return model.getGraph().getInitializerList();
    }

    public Optional<Onnx.NodeProto> node(String name) {
        return Optional.ofNullable(nodesByName.get(name));
    }

    public Onnx.NodeProto requireNode(String name) {
        Onnx.NodeProto n = nodesByName.get(name);
        if (n == null) throw new ModelFormatException(source, "graph has no node named '" + name + "'");
        return n;
    }

    public boolean hasInitializer(String name) {
        return initializers.containsKey(name);
    }

    /** The dims of an initializer. */
    public long[] shape(String name) {
        return requireInitializer(name).getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** An FP32 initializer whose shape must equal {@code expected}. */
    public float[] floats(String name, long... expected) {
        Onnx.TensorProto t = requireInitializer(name);
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        if (!Arrays.equals(dims, expected)) {
            throw new ModelFormatException(source, "tensor '" + name + "' has shape " + Arrays.toString(dims) + ", expected " + Arrays.toString(expected));
        }
        return toFloats(t);
    }

    /** The single float value of a Constant node's output or a scalar initializer. */
    public float scalarFloat(String valueName) {
        float[] v = toFloats(constantOrInitializer(valueName));
        if (v.length != 1) throw new ModelFormatException(source, "'" + valueName + "' holds " + v.length + " values, expected a scalar");
        return v[0];
    }

    /** The int64 values of a Constant node's output or an initializer. */
    public long[] longs(String valueName) {
        Onnx.TensorProto t = constantOrInitializer(valueName);
        if (t.getDataType() != Onnx.TensorProto.DataType.INT64_VALUE) {
            throw new ModelFormatException(source, "'" + valueName + "' has data type " + t.getDataType() + ", expected INT64");
        }
        if (t.getInt64DataCount() > 0) return t.getInt64DataList().stream().mapToLong(Long::longValue).toArray();
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[b.remaining() / Long.BYTES];
        b.asLongBuffer().get(out);
        return out;
    }

    private Onnx.TensorProto constantOrInitializer(String name) {
        Onnx.TensorProto t = constants.get(name);
        if (t == null) t = initializers.get(name);
        if (t == null) throw new ModelFormatException(source, "graph has no constant or initializer named '" + name + "'");
        return t;
    }

    private Onnx.TensorProto requireInitializer(String name) {
        Onnx.TensorProto t = initializers.get(name);
        if (t == null) throw new ModelFormatException(source, "graph has no initializer named '" + name + "'");
        return t;
    }

    private float[] toFloats(Onnx.TensorProto t) {
        if (t.getDataType() != Onnx.TensorProto.DataType.FLOAT_VALUE) {
            throw new ModelFormatException(source, "tensor '" + t.getName() + "' has data type " + t.getDataType() + ", expected FLOAT (1)");
        }
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
            throw new ModelFormatException(source, "tensor '" + t.getName() + "' keeps its data in an external file, which is not supported");
        }
        long count = 1;
        for (long d : t.getDimsList()) {
            if (d < 0) throw new ModelFormatException(source, "tensor '" + t.getName() + "' has a negative dimension");
            count = Math.multiplyExact(count, d);
        }
        if (count > Integer.MAX_VALUE - 8) throw new ModelFormatException(source, "tensor '" + t.getName() + "' is too large (" + count + " values)");
        float[] out = new float[(int) count];
        if (t.getFloatDataCount() > 0) {
            if (t.getFloatDataCount() != count) throw payloadMismatch(t, count, t.getFloatDataCount());
            for (int i = 0; i < out.length; i++) out[i] = t.getFloatData(i);
            return out;
        }
        ByteString raw = t.getRawData();
        if (raw.size() != count * Float.BYTES) throw payloadMismatch(t, count, raw.size() / (double) Float.BYTES);
        raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    private ModelFormatException payloadMismatch(Onnx.TensorProto t, long expected, double actual) {
        return new ModelFormatException(source, "tensor '" + t.getName() + "' holds " + actual + " values but its shape "
                + t.getDimsList() + " needs " + expected);
    }
}
