package io.qbridge.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Test fixtures: llama2.c {@code tokenizer.bin} files written byte by byte (shared with other modules through core's test-jar). */
public final class Llama2cTokenizerBins {
    private Llama2cTokenizerBins() {}

    /** A tokenizer.bin of {@code n} pieces: the 3 control pieces, the 256 byte pieces, " " (id 259), then words {@code w<id>}. */
    public static byte[] ofSize(int n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(8).array());
        for (int i = 0; i < n; i++) {
            String piece = i == 0 ? "<unk>" : i == 1 ? "\n<s>\n" : i == 2 ? "\n</s>\n" : i < 259 ? String.format("<0x%02X>", i - 3) : i == 259 ? " " : "w" + i;
            byte[] p = piece.getBytes(StandardCharsets.ISO_8859_1);
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(-i).putInt(p.length).array());
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
