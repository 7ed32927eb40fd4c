package io.qbridge.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.container.QbzFile;
import io.qbridge.container.QbzManifest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * {@code qbridge info FILE.qbz}: the container's manifest in words. The manifest records no creation time
 * (the same base and recipe give the same container bytes wherever they are quantized), so the time shown
 * is the file's modification time.
 */
final class QbzInfo {
    private QbzInfo() {}

    /** Whether {@code p} is a file that starts with the .qbz magic (or is named *.qbz, so that a damaged one gets the container's error). */
    static boolean isContainer(Path p) {
        if (!Files.isRegularFile(p)) return false;
        if (p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".qbz")) return true;
        try (InputStream in = Files.newInputStream(p)) {
            byte[] head = in.readNBytes(4);
            return head.length == 4 && head[0] == 'Q' && head[1] == 'B' && head[2] == 'Z' && head[3] == 1;
        } catch (IOException e) {
            return false;
        }
    }

    /** Bits of the packed (non-f32) tensors divided by their weights. */
    static double packedBitsPerWeight(QbzManifest m) {
        long bytes = 0, weights = 0;
        for (QbzManifest.Tensor t : m.tensors()) {
            if (t.format().equals(QbzFile.F32) || t.format().equals(QbzFile.BYTES)) continue;
            bytes += t.length();
            weights += t.shape()[0] * t.shape()[1];
        }
        return weights == 0 ? 0 : 8.0 * bytes / weights;
    }

    private static QbzManifest.Tensor tensor(QbzManifest m, String name) {
        return m.tensors().stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new io.qbridge.model.ModelFormatException(name, "the container lacks its tokenizer entry"));
    }

    static int print(Path path, boolean json) throws IOException {
        QbzFile f = QbzFile.open(path); // validates header, bounds and every tensor's sha256
        QbzManifest m = f.manifest();
        Instant modified = Files.getLastModifiedTime(path).toInstant().truncatedTo(ChronoUnit.SECONDS);
        long packed = m.tensors().stream().filter(t -> !t.format().equals(QbzFile.F32) && !t.format().equals(QbzFile.BYTES)).count();
        QbzManifest.Decoder decoder = m.decoder();
        if (json) {
            try (JsonGenerator g = new JsonFactory().createGenerator(System.out, JsonEncoding.UTF8)) {
                g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
                g.useDefaultPrettyPrinter();
                g.writeStartObject();
                g.writeStringField("file", path.toString());
                g.writeNumberField("bytes", m.fileLength());
                g.writeStringField("modified", modified.toString());
                g.writeStringField("baseModel", m.model());
                g.writeStringField("baseSha256", m.baseSha256());
                if (m.hasExternalBase()) {
                    g.writeStringField("tokenizerSha256", m.external().tokenizerSha256());
                    g.writeStringField("pooling", m.external().pooling());
                }
                if (decoder != null) {
                    io.qbridge.model.llama.LlamaConfig c = decoder.config();
                    g.writeObjectFieldStart("decoder");
                    g.writeStringField("family", decoder.family());
                    g.writeStringField("checkpoint", decoder.checkpoint());
                    g.writeNumberField("dim", c.dim());
                    g.writeNumberField("hiddenDim", c.hiddenDim());
                    g.writeNumberField("layers", c.nLayers());
                    g.writeNumberField("heads", c.nHeads());
                    g.writeNumberField("kvHeads", c.nKvHeads());
                    g.writeNumberField("vocabSize", c.vocabSize());
                    g.writeNumberField("seqLen", c.seqLen());
                    g.writeNumberField("ropeTheta", c.ropeTheta());
                    g.writeNumberField("normEps", c.normEps());
                    g.writeBooleanField("sharedClassifier", c.sharedClassifier());
                    g.writeStringField("tokenizer", decoder.tokenizer());
                    g.writeStringField("tokenizerSha256", tensor(m, decoder.tokenizer()).sha256());
                    g.writeEndObject();
                }
                g.writeStringField("format", m.format());
                g.writeObjectFieldStart("settings");
                for (Map.Entry<String, String> e : m.settings().entrySet()) g.writeStringField(e.getKey(), e.getValue());
                g.writeEndObject();
                g.writeNumberField("packedBitsPerWeight", Math.round(packedBitsPerWeight(m) * 1e4) / 1e4);
                g.writeArrayFieldStart("tensors");
                for (QbzManifest.Tensor t : m.tensors()) {
                    g.writeStartObject();
                    g.writeStringField("name", t.name());
                    g.writeStringField("format", t.format());
                    g.writeArrayFieldStart("shape");
                    for (long d : t.shape()) g.writeNumber(d);
                    g.writeEndArray();
                    g.writeNumberField("bytes", t.length());
                    g.writeBooleanField("actOrder", t.inputPerm() != null);
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            System.out.println();
            return 0;
        }
        System.out.printf("container    %s (%,d bytes, file modified %s; the manifest records no creation time)%n", path, m.fileLength(), modified);
        String kind = switch (m.base()) {
            case QbzManifest.Builtin b -> " (built in)";
            case QbzManifest.External e -> " (an ONNX file found by its sha256, not carried)";
            case QbzManifest.Decoder d -> " (a " + d.family() + " decoder from a " + d.checkpoint()
                    + " checkpoint, carried whole: embedding, norms, classifier and tokenizer are in the container)";
        };
        System.out.printf("base model   %s%s%n", m.model(), kind);
        System.out.printf("base sha256  %s%s%n", m.baseSha256(), decoder != null ? " (the checkpoint's; not needed to run)" : "");
        if (decoder != null) {
            io.qbridge.model.llama.LlamaConfig c = decoder.config();
            System.out.printf("architecture LLaMA decoder, layers %d, dim %d, hidden %d, heads %d, kv heads %d, vocab %d, sequence %d, RoPE theta %s, norm eps %s, %s classifier%n",
                    c.nLayers(), c.dim(), c.hiddenDim(), c.nHeads(), c.nKvHeads(), c.vocabSize(), c.seqLen(), Float.toString(c.ropeTheta()),
                    Float.toString(c.normEps()), c.sharedClassifier() ? "shared" : "separate");
            QbzManifest.Tensor tok = tensor(m, decoder.tokenizer());
            System.out.printf("tokenizer    %s carried (%,d bytes, sha256 %s)%n", decoder.tokenizer(), tok.length(), tok.sha256());
        }
        if (m.hasExternalBase()) {
            System.out.printf("tokenizer    sha256 %s, %s pooling%n", m.external().tokenizerSha256(), m.external().pooling());
        }
        System.out.printf("format       %s%n", m.format());
        System.out.printf("algorithm    %s%n", m.settings().getOrDefault("algorithm", "(not recorded)"));
        System.out.printf("calibration  %s%n", m.settings().getOrDefault("calibration", "none"));
        for (Map.Entry<String, String> e : m.settings().entrySet()) {
            if (!e.getKey().equals("algorithm") && !e.getKey().equals("calibration")) System.out.printf("%-12s %s%n", e.getKey(), e.getValue());
        }
        System.out.printf("bits/weight  %.4f over %d packed layers (every stored bit of their byte images)%n%n", packedBitsPerWeight(m), packed);
        System.out.printf("%-48s %-16s %14s %12s%n", "tensor", "format", "shape", "bytes");
        for (QbzManifest.Tensor t : m.tensors()) {
            String shape = String.join("x", Arrays.stream(t.shape()).mapToObj(Long::toString).toList());
            System.out.printf("%-48s %-16s %14s %,12d%s%n", t.name(), t.format(), shape, t.length(), t.inputPerm() != null ? "  act-order" : "");
        }
        return 0;
    }
}
