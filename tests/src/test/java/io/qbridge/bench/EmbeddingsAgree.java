package io.qbridge.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code java EmbeddingsAgree.java A.json B.json}: the cosine between each pair of vectors in two
 * {@code {"embeddings":[[…],…]}} files (the output of {@code qbridge embed --json}, {@code qbridge run --json}
 * and the langchain4j peer), so tests/encoder-bench.sh shows that the programs it times embed the same sentences
 * with the same model. Prints the count, the smallest and the mean cosine, and whether the files' numbers are
 * identical; exits 1 when the counts or dimensions differ. A single-file program (no dependencies) so the script
 * runs it with {@code java} alone.
 */
public final class EmbeddingsAgree {
    private EmbeddingsAgree() {}

    public static void main(String[] args) throws IOException {
        List<float[]> a = read(Path.of(args[0])), b = read(Path.of(args[1]));
        if (a.size() != b.size() || a.isEmpty() || a.get(0).length != b.get(0).length) {
            System.out.printf("%s has %d vectors, %s has %d: not comparable%n", args[0], a.size(), args[1], b.size());
            System.exit(1);
        }
        double min = 1, sum = 0;
        boolean identical = true;
        for (int i = 0; i < a.size(); i++) {
            float[] x = a.get(i), y = b.get(i);
            double xy = 0, xx = 0, yy = 0;
            for (int j = 0; j < x.length; j++) {
                xy += (double) x[j] * y[j];
                xx += (double) x[j] * x[j];
                yy += (double) y[j] * y[j];
                identical &= Float.floatToIntBits(x[j]) == Float.floatToIntBits(y[j]);
            }
            double c = xy / Math.sqrt(xx * yy);
            min = Math.min(min, c);
            sum += c;
        }
        System.out.printf("%d vectors of %d: cosine min %.9f, mean %.9f%s%n", a.size(), a.get(0).length, min, sum / a.size(),
                identical ? ", bit-identical" : "");
    }

    /** The vectors of the "embeddings" array: the numbers between each '[' … ']' pair inside it. */
    static List<float[]> read(Path file) throws IOException {
        String s = Files.readString(file);
        int at = s.indexOf("\"embeddings\"");
        if (at < 0) throw new IOException(file + ": no \"embeddings\" field");
        int i = s.indexOf('[', at) + 1;
        List<float[]> out = new ArrayList<>();
        while (true) {
            while (Character.isWhitespace(s.charAt(i)) || s.charAt(i) == ',') i++;
            if (s.charAt(i) == ']') return out;
            int end = s.indexOf(']', i);
            String[] parts = s.substring(i + 1, end).split(",");
            float[] v = new float[parts.length];
            for (int j = 0; j < parts.length; j++) v[j] = Float.parseFloat(parts[j].trim());
            out.add(v);
            i = end + 1;
        }
    }
}
