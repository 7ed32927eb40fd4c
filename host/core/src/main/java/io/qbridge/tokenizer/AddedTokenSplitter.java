package io.qbridge.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts input text around literal added tokens, as Hugging Face {@code tokenizers} does before normalizing:
 * leftmost match first, the longest token when several start at the same place.
 *
 * <p>All tokens are matched on the raw text. Hugging Face matches tokens flagged {@code normalized: true} on the
 * normalized text instead; the two agree whenever the normalizer leaves the token's own text unchanged, which
 * holds for every file this runtime loads (their added tokens are all {@code normalized: false}).
 */
final class AddedTokenSplitter {
    /** A run of the input: plain text for the normalizer and model, or one added token. */
    sealed interface Segment permits Plain, Added {}

    /** Text between added tokens; {@code first} is true when it starts at offset 0 of the input. */
    record Plain(String text, boolean first) implements Segment {}

    record Added(AddedToken token) implements Segment {}

    private final Map<Character, AddedToken[]> byFirstChar = new HashMap<>();

    AddedTokenSplitter(List<AddedToken> tokens) {
        Map<Character, List<AddedToken>> groups = new HashMap<>();
        for (AddedToken t : tokens) {
            groups.computeIfAbsent(t.content().charAt(0), k -> new ArrayList<>()).add(t);
        }
        // Longest first, so the first match found at a position is the longest one.
        groups.forEach((c, list) -> {
            AddedToken[] arr = list.toArray(AddedToken[]::new);
            Arrays.sort(arr, Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed());
            byFirstChar.put(c, arr);
        });
    }

    boolean isEmpty() {
        return byFirstChar.isEmpty();
    }

    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>(4);
        if (byFirstChar.isEmpty()) {
            if (!text.isEmpty()) out.add(new Plain(text, true));
            return out;
        }
        int plainStart = 0;
        int i = 0;
        int n = text.length();
        while (i < n) {
            AddedToken[] candidates = byFirstChar.get(text.charAt(i));
            AddedToken hit = null;
            if (candidates != null) {
                for (AddedToken t : candidates) {
                    if (text.startsWith(t.content(), i) && wordBoundaryOk(t, text, i)) {
                        hit = t;
                        break;
                    }
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            int plainEnd = i;
            if (hit.lstrip()) {
                while (plainEnd > plainStart && Character.isWhitespace(text.charAt(plainEnd - 1))) plainEnd--;
            }
            if (plainEnd > plainStart) out.add(new Plain(text.substring(plainStart, plainEnd), plainStart == 0));
            out.add(new Added(hit));
            i += hit.content().length();
            if (hit.rstrip()) {
                while (i < n && Character.isWhitespace(text.charAt(i))) i++;
            }
            plainStart = i;
        }
        if (plainStart < n) out.add(new Plain(text.substring(plainStart), plainStart == 0));
        return out;
    }

    private static boolean wordBoundaryOk(AddedToken t, String text, int at) {
        if (!t.singleWord()) return true;
        int end = at + t.content().length();
        boolean leftOk = at == 0 || !Character.isLetterOrDigit(text.codePointBefore(at));
        boolean rightOk = end >= text.length() || !Character.isLetterOrDigit(text.codePointAt(end));
        return leftOk && rightOk;
    }
}
