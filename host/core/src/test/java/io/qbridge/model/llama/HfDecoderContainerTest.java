package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.tokenizer.TokenizerFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A decoder .qbz from a sharded Hugging Face directory: its digest is sha256sum's listing of the files the loader reads, and it round-trips. */
class HfDecoderContainerTest {
    @Test
    void aShardedHfCheckpointRoundTripsAndIsPinnedByItsFiles(@TempDir Path dir) throws Exception {
        LlamaConfig c = new LlamaConfig(64, 96, 2, 4, 2, 300, 16, 500000f, 1e-6f, false, 1, 2);
        Path hf = dir.resolve("hf");
        new TinyLlama(c, 4).writeHf(hf, "F32", 2);
        Files.writeString(hf.resolve("README.md"), "not read by the loader, not pinned");
        LlamaWeights w = HfCheckpoint.load(hf);

        StringBuilder listing = new StringBuilder();
        try (Stream<Path> files = Files.list(hf)) {
            for (Path p : files.sorted().toList()) {
                String n = p.getFileName().toString();
                if (n.equals("config.json") || n.equals("model.safetensors.index.json") || n.endsWith(".safetensors")) {
                    listing.append(io.qbridge.files.Sha256.hex(Files.readAllBytes(p))).append("  ").append(n).append('\n');
                }
            }
        }
        assertEquals(4, listing.toString().lines().count(), listing.toString()); // config, index, two shards
        String sha = QuantizedDecoders.checkpointSha256(hf);
        assertEquals(io.qbridge.files.Sha256.hex(listing.toString().getBytes(StandardCharsets.UTF_8)), sha);
        assertEquals("hf", QuantizedDecoders.checkpointKind(hf));

        DecoderQuantizer.Result r = DecoderQuantizer.quantize(w, QuantRecipe.parse("mxint8"), List.of(), null);
        Path qbz = dir.resolve("hf.qbz");
        byte[] tok = {8, 0, 0, 0}; // carried as bytes; parsed only when a tokenizer is asked for
        QuantizedDecoders.save(qbz, w, new QuantizedDecoders.Checkpoint("hf", sha, new TokenizerFile(TokenizerFile.LLAMA2C, tok)), r, null);
        QuantizedDecoders.Loaded q = QuantizedDecoders.load(qbz);
        assertEquals(c, q.model().config()); // rope theta 500000 and eps 1e-6 exactly
        LlamaDecoder a = new LlamaDecoder(r.model()), b = new LlamaDecoder(q.model());
        for (int p = 0; p < 5; p++) assertArrayEquals(a.forward(7 * p + 1, p), b.forward(7 * p + 1, p), "position " + p);
    }
}
