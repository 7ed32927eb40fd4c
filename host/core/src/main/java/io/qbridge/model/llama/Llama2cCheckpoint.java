package io.qbridge.model.llama;

import io.qbridge.model.Linear;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * llama2.c's legacy checkpoint ({@code .bin}, "version 0"): a header of 7 little-endian int32
 * {@code dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len} (a negative vocab_size means
 * the classifier is stored separately), then fp32 tensors in {@code run.c}'s order:
 * token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, the obsolete RoPE tables
 * freq_cis_real/imag (skipped), then wcls if not shared. Tensors of all layers are stored back to back.
 */
public final class Llama2cCheckpoint {
    /** Bytes of the header. */
    public static final int HEADER_BYTES = 7 * Integer.BYTES;

    private Llama2cCheckpoint() {}

    /** Reads and validates the header: the config plus the size the whole file must have. */
    public static LlamaConfig readConfig(Path file) throws IOException {
        try (FileChannel ch = open(file)) {
            return parseHeader(file, ch);
        }
    }

    /** Loads a checkpoint into heap arrays, validating the header and the exact file size first. */
    public static LlamaWeights load(Path file) throws IOException {
        try (FileChannel ch = open(file)) {
            LlamaConfig c = parseHeader(file, ch);
            int dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), layers = c.nLayers(), vocab = c.vocabSize();
            long pos = HEADER_BYTES;

            float[] embedding = new float[vocab * dim];
            pos = copy(ch, pos, vocab, dim, embedding, 0);

            float[][] attnNorm = new float[layers][dim];
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, 1, dim, attnNorm[l], 0);
            // q, k and v rows of a layer share one array (the fused wqkv view); so do w1 and w3.
            float[][] qkv = new float[layers][(dim + 2 * kv) * dim];
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, dim, dim, qkv[l], 0);
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, kv, dim, qkv[l], dim * dim);
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, kv, dim, qkv[l], (dim + kv) * dim);
            float[][] wo = new float[layers][dim * dim];
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, dim, dim, wo[l], 0);
            float[][] ffnNorm = new float[layers][dim];
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, 1, dim, ffnNorm[l], 0);
            float[][] w13 = new float[layers][2 * hidden * dim];
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, hidden, dim, w13[l], 0);
            float[][] w2 = new float[layers][dim * hidden];
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, dim, hidden, w2[l], 0);
            for (int l = 0; l < layers; l++) pos = copy(ch, pos, hidden, dim, w13[l], hidden * dim);
            float[] finalNorm = new float[dim];
            pos = copy(ch, pos, 1, dim, finalNorm, 0);
            pos += 2L * ropeTableFloats(c) * Float.BYTES;
            Linear classifier;
            if (c.sharedClassifier()) {
                classifier = LlamaWeights.dense("wcls", embedding, 0, dim, vocab);
            } else {
                float[] wcls = new float[vocab * dim];
                pos = copy(ch, pos, vocab, dim, wcls, 0);
                classifier = LlamaWeights.dense("wcls", wcls, 0, dim, vocab);
            }
            assert pos == ch.size();

            List<LlamaWeights.Layer> blocks = new ArrayList<>(layers);
            for (int l = 0; l < layers; l++) {
                blocks.add(LlamaWeights.denseLayer(c, l, attnNorm[l], qkv[l], wo[l], ffnNorm[l], w13[l], w2[l]));
                qkv[l] = wo[l] = w13[l] = w2[l] = null;
            }
            return new LlamaWeights(c, embedding, blocks, finalNorm, classifier);
        }
    }

    /**
     * The exact size in bytes of a checkpoint with this config (its RoPE tables included).
     *
     * @throws ArithmeticException if it does not fit a long
     */
    public static long fileSize(LlamaConfig c) {
        long dim = c.dim(), kv = c.kvDim(), hidden = c.hiddenDim(), layers = c.nLayers(), vocab = c.vocabSize();
        long perLayer = Math.addExact(Math.addExact(2 * dim, Math.multiplyExact(2 * dim, dim)),
                Math.addExact(Math.multiplyExact(2 * kv, dim), Math.multiplyExact(3 * hidden, dim)));
        long floats = Math.multiplyExact(vocab, dim) * (c.sharedClassifier() ? 1 : 2);
        floats = Math.addExact(floats, Math.multiplyExact(layers, perLayer));
        floats = Math.addExact(floats, dim + 2 * ropeTableFloats(c));
        return Math.addExact(HEADER_BYTES, Math.multiplyExact(floats, Float.BYTES));
    }

    /** run.c skips {@code seq_len * head_size / 2} floats twice: tables older exports wrote. */
    private static long ropeTableFloats(LlamaConfig c) {
        return (long) c.seqLen() * c.headSize() / 2;
    }

    private static long copy(FileChannel ch, long pos, int rows, int cols, float[] dst, int dstOffset) throws IOException {
        TensorCopier.copyRows(ch, pos, TensorCopier.Dtype.F32, rows, cols, dst, dstOffset, null);
        return pos + (long) rows * cols * Float.BYTES;
    }

    private static FileChannel open(Path file) throws IOException {
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("llama2.c checkpoint " + file + " does not exist", e);
        }
    }

    private static LlamaConfig parseHeader(Path file, FileChannel ch) throws IOException {
        long actual = ch.size();
        if (actual < HEADER_BYTES) {
            throw new CheckpointException("llama2.c checkpoint " + file + " is truncated: " + actual
                    + " bytes, shorter than its " + HEADER_BYTES + "-byte header");
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        while (header.hasRemaining()) {
            if (ch.read(header, header.position()) < 0) throw new CheckpointException("llama2.c checkpoint " + file + " is truncated");
        }
        header.flip();
        int dim = header.getInt(), hidden = header.getInt(), layers = header.getInt(), heads = header.getInt();
        int kvHeads = header.getInt(), vocab = header.getInt(), seq = header.getInt();
        String fields = "dim=" + dim + " hidden_dim=" + hidden + " n_layers=" + layers + " n_heads=" + heads
                + " n_kv_heads=" + kvHeads + " vocab_size=" + vocab + " seq_len=" + seq;
        // A negative vocab_size is llama2.c's flag for a separately stored classifier.
        boolean shared = vocab > 0;
        LlamaConfig c;
        try {
            if (vocab == Integer.MIN_VALUE) throw new IllegalArgumentException("vocab_size out of range");
            c = LlamaConfig.llama2c(dim, hidden, layers, heads, kvHeads, Math.abs(vocab), seq, shared);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("llama2.c checkpoint " + file + " has a bad header (" + fields + "): " + e.getMessage(), e);
        }
        long expected;
        try {
            expected = fileSize(c);
        } catch (ArithmeticException e) {
            throw new CheckpointException("llama2.c checkpoint " + file + " has a bad header (" + fields + "): its size overflows", e);
        }
        if (actual != expected) {
            throw new CheckpointException("llama2.c checkpoint " + file + " is " + (actual < expected ? "truncated" : "longer than its header implies")
                    + ": expected " + expected + " bytes for " + fields + (shared ? " (shared classifier)" : " (separate classifier)")
                    + ", actual " + actual + " bytes");
        }
        return c;
    }
}
