package io.qbridge.model.bert;

import io.qbridge.files.ResourceCache;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.onnx.OnnxGraph;
import io.qbridge.tokenizer.BertTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A sentence-embedding model: tokenizer, encoder and pooling, as published. Built-in models are named by
 * alias and load from the model jars Maven resolved ({@link Builtin}); any other ONNX file is named by
 * path, with its {@code tokenizer.json} beside it.
 */
public final class EncoderModel {
    /** The pretrained encoders that ship as Maven artifacts. */
    public enum Builtin {
        BGE_SMALL("bge-small", "BAAI/bge-small-en-v1.5", "/bge-small-en-v1.5.onnx", "/bge-small-en-v1.5-tokenizer.json", Pooling.CLS),
        MINILM("minilm", "sentence-transformers/all-MiniLM-L6-v2", "/all-minilm-l6-v2.onnx", "/all-minilm-l6-v2-tokenizer.json", Pooling.MEAN);

        public final String alias;
        public final String hubName;
        public final String onnxResource;
        public final String tokenizerResource;
        public final Pooling pooling;

        Builtin(String alias, String hubName, String onnxResource, String tokenizerResource, Pooling pooling) {
            this.alias = alias;
            this.hubName = hubName;
            this.onnxResource = onnxResource;
            this.tokenizerResource = tokenizerResource;
            this.pooling = pooling;
        }

        public static Builtin byAlias(String alias) {
            for (Builtin b : values()) if (b.alias.equals(alias.toLowerCase(Locale.ROOT))) return b;
            return null;
        }
    }

    private final String name;
    private final BertTokenizer tokenizer;
    private final BertEncoder encoder;
    private final Pooling pooling;

    public EncoderModel(String name, BertTokenizer tokenizer, BertEncoder encoder, Pooling pooling) {
        this.name = name;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.pooling = pooling;
    }

    /** Whether {@code ref} names a built-in alias or an {@code .onnx} file. */
    public static boolean isEncoderRef(String ref) {
        return Builtin.byAlias(ref) != null || ref.toLowerCase(Locale.ROOT).endsWith(".onnx");
    }

    /** Loads a built-in model by alias, or an ONNX file by path (pooling: MEAN unless given). */
    public static EncoderModel load(String ref, Pooling poolingForFiles) {
        Builtin b = Builtin.byAlias(ref);
        if (b != null) return load(b);
        Path onnx = Path.of(ref);
        if (!Files.isRegularFile(onnx)) {
            throw new ModelFormatException(ref, "no such model: not a built-in alias (bge-small, minilm) and not an ONNX file");
        }
        Path tok = onnx.resolveSibling("tokenizer.json");
        try {
            // the graph first: a file that is not ONNX at all is reported as such, not as a missing tokenizer.json
            OnnxGraph graph;
            try (InputStream oi = Files.newInputStream(onnx)) {
                graph = OnnxGraph.read(oi, onnx.toString());
            }
            if (!Files.isRegularFile(tok)) throw new ModelFormatException(ref, "no tokenizer.json beside the ONNX file (expected " + tok + ")");
            BertTokenizer tokenizer;
            try (InputStream ti = Files.newInputStream(tok)) {
                tokenizer = BertTokenizer.fromJson(ti, tok.toString());
            }
            BertEncoder enc = BertEncoder.fromOnnx(graph);
            return new EncoderModel(onnx.getFileName().toString(), tokenizer, enc, poolingForFiles == null ? Pooling.MEAN : poolingForFiles);
        } catch (IOException e) {
            throw new UncheckedIOException(ref + ": " + e.getMessage(), e);
        }
    }

    public static EncoderModel load(Builtin b) {
        byte[] onnx;
        try {
            onnx = onnxBytes(b);
        } catch (IOException e) {
            throw new UncheckedIOException(b.alias + ": " + e.getMessage(), e);
        }
        return load(b, onnx);
    }

    /**
     * As {@link #load(Builtin)}, from the bytes of its ONNX resource already read (a caller that also hashes them
     * reads the 91-133 MB resource once). The tokenizer's JSON is parsed on a second thread meanwhile: the two are
     * independent, and a fresh process has a core to spare while the graph is parsed.
     */
    public static EncoderModel load(Builtin b, byte[] onnx) {
        java.util.concurrent.FutureTask<BertTokenizer> tokenizer = new java.util.concurrent.FutureTask<>(() -> {
            try (InputStream ti = resource(b.tokenizerResource)) {
                return BertTokenizer.fromJson(ti, b.tokenizerResource);
            }
        });
        Thread t = new Thread(tokenizer, "qbridge-tokenizer-load");
        t.setDaemon(true);
        t.start();
        BertEncoder enc = BertEncoder.fromOnnx(OnnxGraph.parse(onnx, b.onnxResource));
        try {
            return new EncoderModel(b.alias, tokenizer.get(), enc, b.pooling);
        } catch (java.util.concurrent.ExecutionException e) {
            // the tokenizer's own error, as the sequential load threw it
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            if (e.getCause() instanceof IOException io) throw new UncheckedIOException(b.alias + ": " + io.getMessage(), io);
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(b.alias + ": interrupted while loading its tokenizer", e);
        }
    }

    /**
     * The ONNX bytes of a built-in model (for comparisons against other runtimes): from the user's cache of
     * inflated resources when it holds them intact ({@link ResourceCache}), else inflated from the model's jar.
     */
    public static byte[] onnxBytes(Builtin b) throws IOException {
        byte[] bytes = ResourceCache.read(EncoderModel.class, b.onnxResource);
        if (bytes == null) throw new ModelFormatException(b.onnxResource, "model resource not on the classpath (is its langchain4j-embeddings-* jar missing?)");
        return bytes;
    }

    private static InputStream resource(String name) {
        InputStream in = EncoderModel.class.getResourceAsStream(name);
        if (in == null) throw new ModelFormatException(name, "model resource not on the classpath (is its langchain4j-embeddings-* jar missing?)");
        return in;
    }

    public String name() { return name; }
    public BertTokenizer tokenizer() { return tokenizer; }
    public BertEncoder encoder() { return encoder; }
    public Pooling pooling() { return pooling; }

    /** The same model with its linear layers replaced. */
    public EncoderModel mapLinears(UnaryOperator<io.qbridge.model.Linear> f) {
        return new EncoderModel(name, tokenizer, encoder.mapLinears(f), pooling);
    }

    /**
     * Tokenizes each sentence ([CLS] … [SEP], at most the model's positions). {@code onTruncate} hears the
     * index of each sentence that had to be cut.
     */
    public List<int[]> tokenize(List<String> sentences, Consumer<Integer> onTruncate) {
        List<int[]> ids = new ArrayList<>(sentences.size());
        int max = encoder.config().maxPositions();
        for (int i = 0; i < sentences.size(); i++) {
            BertTokenizer.Encoding e = tokenizer.encode(sentences.get(i), max);
            if (e.truncated() && onTruncate != null) onTruncate.accept(i);
            ids.add(e.ids());
        }
        return ids;
    }

    /** Sentence embeddings (unit vectors), computed in batches of at most {@code batchTokens} tokens. */
    public float[][] embedIds(List<int[]> ids, int batchTokens) {
        return embedIds(ids, batchTokens, null);
    }

    /** As {@link #embedIds(List, int)}, telling {@code onBatch} how many sentences each finished batch held. */
    public float[][] embedIds(List<int[]> ids, int batchTokens, java.util.function.IntConsumer onBatch) {
        float[][] out = new float[ids.size()][];
        int start = 0;
        while (start < ids.size()) {
            int end = start, tokens = 0;
            while (end < ids.size() && (end == start || tokens + ids.get(end).length <= batchTokens)) tokens += ids.get(end++).length;
            float[][] part = BertEncoder.pool(encoder.forward(ids.subList(start, end)), pooling);
            System.arraycopy(part, 0, out, start, part.length);
            if (onBatch != null) onBatch.accept(part.length);
            start = end;
        }
        return out;
    }

    /** Default batch size in tokens: large enough that each linear layer is one big product. */
    public static final int DEFAULT_BATCH_TOKENS = 4096;
}
