package io.qbridge.model.llama;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * Writes a llama2.c checkpoint of any shape filled with seeded random weights, for speed measurements
 * against {@code run.c} when the real model of that size is not at hand. Weights are uniform with a
 * {@code 1/sqrt(fan_in)} scale and norms near 1, so activations stay in a realistic range.
 *
 * <p>Usage: {@code RandomCheckpointWriter OUT.bin dim hidden layers heads kvHeads vocab seqLen [seed] [unshared]}.
 */
public final class RandomCheckpointWriter {
    private static final int CHUNK_FLOATS = 1 << 18;

    private RandomCheckpointWriter() {}

    /** The 42M-parameter TinyStories shape from the llama2.c project. */
    public static LlamaConfig stories42mShape() {
        return LlamaConfig.llama2c(512, 1376, 8, 8, 4, 32000, 1024, true);
    }

    /** Writes {@code file} (replacing it) and returns its size in bytes, equal to {@link Llama2cCheckpoint#fileSize}. */
    public static long write(Path file, LlamaConfig c, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        long dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), layers = c.nLayers(), vocab = c.vocabSize();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer header = ByteBuffer.allocate(Llama2cCheckpoint.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.nLayers()).putInt(c.nHeads()).putInt(c.nKvHeads())
                    .putInt(c.sharedClassifier() ? c.vocabSize() : -c.vocabSize()).putInt(c.seqLen()).flip();
            writeFully(ch, header);
            Floats out = new Floats(ch, rnd);
            out.uniform(vocab * dim, 1.0f);                          // token embedding
            out.nearOne(layers * dim);                               // rms_att
            out.uniform(layers * dim * dim, scale(dim));             // wq
            out.uniform(layers * kv * dim, scale(dim));              // wk
            out.uniform(layers * kv * dim, scale(dim));              // wv
            out.uniform(layers * dim * dim, scale(dim));             // wo
            out.nearOne(layers * dim);                               // rms_ffn
            out.uniform(layers * hidden * dim, scale(dim));          // w1
            out.uniform(layers * dim * hidden, scale(hidden));       // w2
            out.uniform(layers * hidden * dim, scale(dim));          // w3
            out.nearOne(dim);                                        // rms_final
            out.zeros(2L * c.seqLen() * c.headSize() / 2);           // obsolete RoPE tables
            if (!c.sharedClassifier()) out.uniform(vocab * dim, scale(dim));
            out.flush();
            return ch.size();
        }
    }

    private static float scale(long fanIn) {
        return (float) (1.0 / Math.sqrt(fanIn));
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** A buffered little-endian float stream. */
    private static final class Floats {
        private final FileChannel ch;
        private final SplittableRandom rnd;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);

        Floats(FileChannel ch, SplittableRandom rnd) {
            this.ch = ch;
            this.rnd = rnd;
        }

        void uniform(long n, float scale) throws IOException {
            for (long i = 0; i < n; i++) put((float) ((rnd.nextDouble() * 2 - 1) * scale));
        }

        void nearOne(long n) throws IOException {
            for (long i = 0; i < n; i++) put((float) (1 + (rnd.nextDouble() - 0.5) * 0.2));
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) put(0f);
        }

        private void put(float f) throws IOException {
            if (!buf.hasRemaining()) flush();
            buf.putFloat(f);
        }

        void flush() throws IOException {
            buf.flip();
            writeFully(ch, buf);
            buf.clear();
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1 && args.length < 8) {
            System.err.println("usage: RandomCheckpointWriter OUT.bin [dim hidden layers heads kvHeads vocab seqLen [seed] [unshared]]");
            System.err.println("       with only OUT.bin: the 42M TinyStories shape (512 1376 8 8 4 32000 1024)");
            System.exit(2);
        }
        LlamaConfig c = args.length == 1 ? stories42mShape() : LlamaConfig.llama2c(Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]), Integer.parseInt(args[6]),
                Integer.parseInt(args[7]), !(args.length > 9 && args[9].equals("unshared")));
        long seed = args.length > 8 ? Long.parseLong(args[8]) : 42;
        long bytes = write(Path.of(args[0]), c, seed);
        System.out.println("wrote " + args[0] + ": " + bytes + " bytes, " + c);
    }
}
