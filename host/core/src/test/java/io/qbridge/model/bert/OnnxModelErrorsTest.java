package io.qbridge.model.bert;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.model.ModelFormatException;
import io.qbridge.model.onnx.OnnxGraph;
import io.qbridge.protocol.onnx.Onnx;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Broken ONNX files get one clear error naming the file and the problem. */
class OnnxModelErrorsTest {
    private static byte[] minilm;

    @BeforeAll
    static void load() throws Exception {
        minilm = EncoderModel.onnxBytes(EncoderModel.Builtin.MINILM);
    }

    private static ModelFormatException fails(byte[] bytes) {
        return assertThrows(ModelFormatException.class, () -> BertEncoder.fromOnnx(OnnxGraph.parse(bytes, "broken.onnx")));
    }

    @Test
    void truncatedFileIsRejected() {
        ModelFormatException e = fails(Arrays.copyOf(minilm, minilm.length / 2));
        assertTrue(e.getMessage().startsWith("broken.onnx: not an ONNX model: not a valid ONNX protobuf (truncated or corrupt)"), e.getMessage());
    }

    @Test
    void garbageIsRejected() {
        byte[] junk = new byte[4096];
        new java.util.Random(7).nextBytes(junk);
        ModelFormatException e = fails(junk);
        assertTrue(e.getMessage().startsWith("broken.onnx: not an ONNX model"), e.getMessage());
    }

    @Test
    void emptyFileIsNotAModel() {
        ModelFormatException e = fails(new byte[0]);
        assertTrue(e.getMessage().contains("not an ONNX model"), e.getMessage());
    }

    @Test
    void wrongShapeNamesTheTensor() throws Exception {
        Onnx.ModelProto.Builder m = Onnx.ModelProto.parseFrom(minilm).toBuilder();
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            if (g.getInitializer(i).getName().equals("encoder.layer.3.output.LayerNorm.bias")) {
                g.setInitializer(i, g.getInitializer(i).toBuilder().clearDims().addDims(383).build());
            }
        }
        ModelFormatException e = fails(m.build().toByteArray());
        assertTrue(e.getMessage().contains("'encoder.layer.3.output.LayerNorm.bias' has shape [383], expected [384]"), e.getMessage());
    }

    @Test
    void payloadShorterThanShapeIsRejected() throws Exception {
        Onnx.ModelProto.Builder m = Onnx.ModelProto.parseFrom(minilm).toBuilder();
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            Onnx.TensorProto t = g.getInitializer(i);
            if (t.getName().equals("embeddings.LayerNorm.weight")) {
                g.setInitializer(i, t.toBuilder().setRawData(t.getRawData().substring(0, 100)).build());
            }
        }
        ModelFormatException e = fails(m.build().toByteArray());
        assertTrue(e.getMessage().contains("'embeddings.LayerNorm.weight' holds 25.0 values but its shape [384] needs 384"), e.getMessage());
    }

    @Test
    void missingTensorIsNamed() throws Exception {
        Onnx.ModelProto.Builder m = Onnx.ModelProto.parseFrom(minilm).toBuilder();
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            if (g.getInitializer(i).getName().equals("encoder.layer.5.attention.self.key.bias")) {
                g.removeInitializer(i);
                break;
            }
        }
        ModelFormatException e = fails(m.build().toByteArray());
        assertTrue(e.getMessage().contains("no initializer named 'encoder.layer.5.attention.self.key.bias'"), e.getMessage());
    }
}
