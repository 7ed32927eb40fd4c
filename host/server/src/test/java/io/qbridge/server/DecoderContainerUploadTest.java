package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.model.llama.Llama2cCheckpoint;
import io.qbridge.model.llama.LlamaConfig;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.model.llama.RandomCheckpointWriter;
import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.tokenizer.TokenizerFile;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No job kind takes a decoder: an uploaded decoder {@code .qbz} (a valid container) is refused at upload with one
 * line saying what it is and where it runs, rather than accepted and failing every job later.
 */
class DecoderContainerUploadTest {
    @Test
    void aDecoderContainerIsNotAnUploadableModel(@TempDir Path dir) throws Exception {
        Path bin = dir.resolve("tiny.bin");
        RandomCheckpointWriter.write(bin, LlamaConfig.llama2c(64, 96, 1, 2, 2, 260, 8, true), 3);
        LlamaWeights w = Llama2cCheckpoint.load(bin);
        Path qbz = dir.resolve("d.qbz");
        QuantizedDecoders.save(qbz, w, new QuantizedDecoders.Checkpoint("llama2c", "ab".repeat(32), new TokenizerFile(TokenizerFile.LLAMA2C, new byte[] {8, 0, 0, 0})),
                DecoderQuantizer.quantize(w, QuantRecipe.parse("mxint8"), List.of(), null), null);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> UploadStore.validateModel(qbz, UploadedModels.bases(new ArtifactStore(dir.resolve("data")))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        String d = e.getStatus().getDescription();
        assertTrue(d.startsWith("not a usable model: a .qbz container that does not load: ") && d.endsWith("is a llama decoder container, not an encoder's (run it with qbridge generate or eval)"), d);
        assertEquals(1, d.lines().count());
    }
}
