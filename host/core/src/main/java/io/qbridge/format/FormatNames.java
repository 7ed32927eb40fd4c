package io.qbridge.format;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The short error for a name nobody knows: the closest known names by edit distance and a pointer to
 * {@code qbridge formats}, instead of the whole name grammar.
 */
public final class FormatNames {
    private FormatNames() {}

    /** The fixed format names (the parameterised ones are listed by {@code qbridge formats}). */
    public static final List<String> FIXED = List.of("rtn-w2g128", "rtn-w3g128", "rtn-w4g128", "rtn-w8g128", "int4-asym-g128", "mxint8",
            "mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp4", "microscopiq-w4", "microscopiq-w2", "microscopiq-w4-c4",
            "microscopiq-w2-c4", "fineq");

    /** {@code unknown <what> '<name>' (did you mean a or b?); 'qbridge formats' lists them}. */
    public static String unknown(String what, String name, Collection<String> candidates) {
        List<String> close = closest(name, candidates);
        return "unknown " + what + " '" + name + "'" + (close.isEmpty() ? "" : " (did you mean " + String.join(" or ", close) + "?)")
                + "; 'qbridge formats' lists them";
    }

    /** Up to three candidates within an edit distance of a third of the name's length (at least 2), closest first. */
    public static List<String> closest(String name, Collection<String> candidates) {
        String n = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
        int limit = Math.max(2, n.length() / 3);
        return candidates.stream().distinct()
                .map(c -> new Object[] {c, distance(n, c)})
                .filter(p -> (int) p[1] <= limit)
                .sorted(Comparator.comparingInt((Object[] p) -> (int) p[1]).thenComparing(p -> (String) p[0]))
                .limit(3).map(p -> (String) p[0]).toList();
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++)
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }
}
