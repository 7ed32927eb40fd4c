package io.qbridge.pipeline;

import io.qbridge.container.QbzEntry;
import io.qbridge.container.QbzFile;
import io.qbridge.container.QbzManifest;
import io.qbridge.files.Sha256;
import io.qbridge.format.PackedTensor;
import io.qbridge.model.DenseLinear;
import io.qbridge.model.Linear;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.llama.LlamaConfig;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.tokenizer.TextTokenizer;
import io.qbridge.tokenizer.TokenizerFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Quantized LLaMA-family decoders in {@code .qbz} containers. Unlike an encoder container, a decoder container
 * carries everything it runs with, so the checkpoint is not needed again (as a llama.cpp {@code .gguf} is one
 * file): in forward order the FP32 {@code token_embedding}, per block its FP32 {@code layers.L.attn_norm}, the
 * seven packed projections {@code layers.L.wq|wk|wv|wo|w1|w2|w3} (act-order permutations in the manifest), its
 * FP32 {@code layers.L.ffn_norm}; the FP32 {@code final_norm}; the classifier {@code wcls} (packed when it was
 * quantized too, FP32 when it is stored apart from the embedding, absent when it is the embedding); and the
 * tokenizer's file bytes ({@code tokenizer.bin} or {@code tokenizer.json}). The manifest's
 * {@link QbzManifest.Decoder} base holds the config, and {@code base_sha256} pins the checkpoint it came from.
 *
 * <p>The block layers are the {@link DecoderQuantizer} result {@code generate --format} computes with, written
 * as they are; loading rebuilds the same {@link QuantizedLayer}s from the packed images, so a model loaded
 * from the container computes bit for bit what the quantized checkpoint computes, on the host and on a device.
 */
public final class QuantizedDecoders {
    private QuantizedDecoders() {}

    /** The name of the classifier in a decoder container. */
    public static final String CLASSIFIER = "wcls";

    /** Whether a decoder container packs its classifier ({@code quantize --classifier-on-device}), told by its manifest. */
    public static boolean packsClassifier(QbzManifest m) {
        return m.tensors().stream().anyMatch(t -> t.name().equals(CLASSIFIER) && !t.format().equals(QbzFile.F32));
    }

    /**
     * The checkpoint a container is quantized from.
     *
     * @param checkpoint {@code llama2c}, {@code gguf} or {@code hf} ({@link QbzManifest.Decoder#CHECKPOINTS})
     * @param sha256     the checkpoint's digest ({@link #checkpointSha256})
     * @param tokenizer  the tokenizer it runs with, carried in the container
     */
    public record Checkpoint(String checkpoint, String sha256, TokenizerFile tokenizer) {}

    /** The kind of checkpoint a path is: a directory is Hugging Face's, a {@code .gguf} file llama.cpp's, another file llama2.c's. */
    public static String checkpointKind(Path model) {
        if (Files.isDirectory(model)) return "hf";
        return model.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf") ? "gguf" : "llama2c";
    }

    /**
     * The digest {@code base_sha256} pins: a file's sha256; for a Hugging Face directory the sha256 of the lines
     * {@code <sha256>  <name>\n} (as {@code sha256sum} prints them) of its {@code config.json},
     * {@code model.safetensors.index.json} (if sharded) and {@code *.safetensors} files, sorted by name (the files its
     * loader reads).
     */
    public static String checkpointSha256(Path model) throws IOException {
        if (!Files.isDirectory(model)) return Sha256.hex(model);
        List<Path> files;
        try (Stream<Path> s = Files.list(model)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString();
                return n.equals("config.json") || n.equals("model.safetensors.index.json") || n.endsWith(".safetensors");
            }).sorted().toList();
        }
        StringBuilder listing = new StringBuilder();
        for (Path p : files) listing.append(Sha256.hex(p)).append("  ").append(p.getFileName()).append('\n');
        return Sha256.hex(listing.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Writes a decoder container (atomically, as every container): the FP32 tensors of {@code fp32}, the block
     * layers of {@code r}, and {@code classifier} packed (null: the FP32 classifier, stored only when it is not the
     * embedding). The same inputs give the same bytes.
     */
    public static void save(Path out, LlamaWeights fp32, Checkpoint base, DecoderQuantizer.Result r, QuantizedLayer classifier) throws IOException {
        LlamaConfig c = fp32.config();
        List<QbzEntry> entries = new ArrayList<>();
        entries.add(new QbzEntry.Floats("token_embedding", fp32.tokenEmbedding(), new long[] {c.vocabSize(), c.dim()}));
        for (int l = 0; l < c.nLayers(); l++) {
            LlamaWeights.Layer block = fp32.layers().get(l);
            entries.add(new QbzEntry.Floats(blockName(l, "attn_norm"), block.attnNorm(), new long[] {c.dim()}));
            List<Linear> linears = block.linears();
            for (int i = 0; i < linears.size(); i++) {
                QuantizedLayer q = r.layers().get(linears.get(i).name());
                if (q == null || q.packed() == null) throw new IllegalArgumentException(linears.get(i).name() + " was not quantized");
                String name = blockName(l, PROJECTIONS.get(i));
                entries.add(new QbzEntry.Packed(name, q.packed(), q.inputPerm()));
                if (q.bias() != null) entries.add(new QbzEntry.Floats(name + ".bias", q.bias(), new long[] {q.bias().length}));
            }
            entries.add(new QbzEntry.Floats(blockName(l, "ffn_norm"), block.ffnNorm(), new long[] {c.dim()}));
        }
        entries.add(new QbzEntry.Floats("final_norm", fp32.finalNorm(), new long[] {c.dim()}));
        Map<String, String> settings = new LinkedHashMap<>(r.settings());
        if (classifier != null) {
            entries.add(new QbzEntry.Packed(CLASSIFIER, classifier.packed(), classifier.inputPerm()));
            settings.put("classifier", "rtn, packed (runs on the device)");
        } else {
            if (!c.sharedClassifier()) entries.add(new QbzEntry.Floats(CLASSIFIER, fp32.classifier().weightsOutIn(), new long[] {c.vocabSize(), c.dim()}));
            settings.put("classifier", c.sharedClassifier() ? "fp32, the token embedding" : "fp32");
        }
        entries.add(new QbzEntry.Bytes(base.tokenizer().name(), base.tokenizer().bytes()));
        QbzManifest.Decoder decoder = new QbzManifest.Decoder(QbzManifest.Decoder.LLAMA, base.checkpoint(), c, base.tokenizer().name());
        QbzFile.write(out, QbzManifest.decoderLabel(decoder.family(), base.sha256()), base.sha256(), decoder, r.recipe().format().id(), settings, entries);
    }

    /** The projections of a block in {@link LlamaWeights.Layer#linears()} order, as the container names them. */
    static final List<String> PROJECTIONS = List.of("wq", "wk", "wv", "wo", "w1", "w2", "w3");

    private static String blockName(int l, String what) {
        return "layers." + l + "." + what;
    }

    /**
     * A loaded decoder container.
     *
     * @param model       the decoder computing on the host with the exact dequantized weights
     * @param blockLayers the packed block layers by the name of their linear in {@code model}, forward order
     * @param classifier  the packed classifier, or null when it is FP32
     * @param tokenizer   the tokenizer file the container carries
     */
    public record Loaded(QbzManifest manifest, LlamaWeights model, Map<String, QuantizedLayer> blockLayers, QuantizedLayer classifier,
                         TokenizerFile tokenizer) {
        /** The carried tokenizer, parsed. */
        public TextTokenizer textTokenizer(String source) {
            return tokenizer.parse(model.config().vocabSize(), source + ":" + tokenizer.name());
        }

        /** Every packed layer: the block layers, then the classifier if it is packed. */
        public List<QuantizedLayer> packedLayers() {
            List<QuantizedLayer> all = new ArrayList<>(blockLayers.values());
            if (classifier != null) all.add(classifier);
            return all;
        }
    }

    /** Loads a decoder container; an encoder's, or any tensor missing or of the wrong shape, is a one-line error. */
    public static Loaded load(Path file) throws IOException {
        QbzFile f = QbzFile.open(file);
        QbzManifest m = f.manifest();
        String src = file.toString();
        QbzManifest.Decoder d = m.decoder();
        if (d == null) throw new ModelFormatException(src, "is an encoder container (base " + m.model() + "), not a decoder's");
        LlamaConfig c = d.config();
        int dim = c.dim(), vocab = c.vocabSize();
        try {
            float[] embedding = floats(f, "token_embedding", (long) vocab * dim, src);
            List<LlamaWeights.Layer> layers = new ArrayList<>();
            Map<String, QuantizedLayer> packed = new LinkedHashMap<>();
            int[][] shapes = {{dim, dim}, {c.kvDim(), dim}, {c.kvDim(), dim}, {dim, dim}, {c.hiddenDim(), dim}, {dim, c.hiddenDim()}, {c.hiddenDim(), dim}};
            for (int l = 0; l < c.nLayers(); l++) {
                float[] attnNorm = floats(f, blockName(l, "attn_norm"), dim, src);
                Linear[] lin = new Linear[7];
                for (int i = 0; i < 7; i++) {
                    QuantizedLayer q = packedLayer(f, blockName(l, PROJECTIONS.get(i)), shapes[i][0], shapes[i][1], src);
                    packed.put(q.name(), q);
                    lin[i] = q.toHostLinear();
                }
                float[] ffnNorm = floats(f, blockName(l, "ffn_norm"), dim, src);
                layers.add(new LlamaWeights.Layer(attnNorm, lin[0], lin[1], lin[2], lin[3], ffnNorm, lin[4], lin[5], lin[6], null, null));
            }
            float[] finalNorm = floats(f, "final_norm", dim, src);
            QuantizedLayer packedClassifier = null;
            Linear classifier;
            if (packsClassifier(f.manifest())) {
                packedClassifier = packedLayer(f, CLASSIFIER, vocab, dim, src);
                classifier = packedClassifier.toHostLinear();
            } else if (c.sharedClassifier()) {
                if (f.has(CLASSIFIER)) throw new ModelFormatException(src, "holds an FP32 classifier but its config says the classifier is the token embedding");
                classifier = DenseLinear.outIn(CLASSIFIER, embedding, 0, dim, vocab, null); // as the checkpoint loaders build it
            } else {
                classifier = DenseLinear.outIn(CLASSIFIER, floats(f, CLASSIFIER, (long) vocab * dim, src), 0, dim, vocab, null);
            }
            if (!f.has(d.tokenizer())) throw new ModelFormatException(src, "lacks its tokenizer entry '" + d.tokenizer() + "'");
            TokenizerFile tok = new TokenizerFile(d.tokenizer(), f.bytes(d.tokenizer()));
            LlamaWeights w = new LlamaWeights(c, embedding, layers, finalNorm, classifier);
            return new Loaded(m, w, packed, packedClassifier, tok);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(src, e.getMessage());
        }
    }

    private static float[] floats(QbzFile f, String name, long count, String src) {
        if (!f.has(name)) throw new ModelFormatException(src, "lacks the decoder tensor '" + name + "'");
        float[] v = f.floats(name);
        if (v.length != count) throw new ModelFormatException(src, "tensor '" + name + "' has " + v.length + " values, the config needs " + count);
        return v;
    }

    private static QuantizedLayer packedLayer(QbzFile f, String name, int n, int k, String src) {
        if (!f.has(name)) throw new ModelFormatException(src, "lacks the decoder tensor '" + name + "'");
        PackedTensor p = f.packed(name);
        if (p.n() != n || p.k() != k) throw new ModelFormatException(src, "tensor '" + name + "' is " + p.n() + "x" + p.k() + " but the config needs " + n + "x" + k);
        float[] bias = f.has(name + ".bias") ? f.floats(name + ".bias") : null;
        if (bias != null && bias.length != n) throw new ModelFormatException(src, "bias of '" + name + "' has the wrong length");
        int[] perm = f.inputPerm(name);
        float[] deq = QuantizedLayer.unpermuteColumns(p.format().dequantize(p), n, k, perm);
        return new QuantizedLayer(name, p, bias, deq, perm);
    }
}
