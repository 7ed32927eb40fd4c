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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An uploaded decoder {@code .qbz} is a model generate and decoder eval jobs take: upload validation loads it whole
 * (model and carried tokenizer) and marks it "decoder"; a damaged one, or one whose tokenizer does not fit, is refused
 * in one line and nothing is stored.
 */
class DecoderContainerUploadTest {
    static final int VOCAB = 260;

    static byte[] tokenizerBin(int n) {
        return io.qbridge.tokenizer.Llama2cTokenizerBins.ofSize(n);
    }

    static Path container(Path dir, byte[] tokenizer) throws Exception {
        Path bin = dir.resolve("tiny.bin");
        RandomCheckpointWriter.write(bin, LlamaConfig.llama2c(64, 96, 1, 2, 2, VOCAB, 8, true), 3);
        LlamaWeights w = Llama2cCheckpoint.load(bin);
        Path qbz = dir.resolve("d.qbz");
        QuantizedDecoders.save(qbz, w, new QuantizedDecoders.Checkpoint("llama2c", "ab".repeat(32), new TokenizerFile(TokenizerFile.LLAMA2C, tokenizer)),
                DecoderQuantizer.quantize(w, QuantRecipe.parse("mxint8"), List.of(), null), null);
        return qbz;
    }

    @Test
    void aDecoderContainerIsAnUploadableModel(@TempDir Path dir) throws Exception {
        Path qbz = container(dir, tokenizerBin(VOCAB));
        assertEquals(UploadedModels.DECODER, UploadStore.validateModel(qbz, UploadedModels.bases(new ArtifactStore(dir.resolve("data")))));
    }

    @Test
    void aDamagedDecoderContainerIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        Path qbz = container(dir, tokenizerBin(VOCAB));
        byte[] bytes = Files.readAllBytes(qbz);
        Path cut = Files.write(dir.resolve("cut.qbz"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> UploadStore.validateModel(cut, UploadedModels.bases(new ArtifactStore(dir.resolve("data")))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        String d = e.getStatus().getDescription();
        assertTrue(d.startsWith("not a usable model: a .qbz container that does not load: "), d);
        assertEquals(1, d.lines().count(), d);
    }

    @Test
    void aDecoderContainerWhoseTokenizerDoesNotLoadIsRefused(@TempDir Path dir) throws Exception {
        Path qbz = container(dir, new byte[] {8, 0, 0, 0}); // a tokenizer.bin header without one piece
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> UploadStore.validateModel(qbz, UploadedModels.bases(new ArtifactStore(dir.resolve("data")))));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        String d = e.getStatus().getDescription();
        assertTrue(d.startsWith("not a usable model: a .qbz container that does not load: "), d);
        assertEquals(1, d.lines().count(), d);
    }
}
