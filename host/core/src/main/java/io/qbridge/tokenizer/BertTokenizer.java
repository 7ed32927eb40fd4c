package io.qbridge.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * BERT's WordPiece tokenizer, configured by a Hugging Face {@code tokenizer.json} the way the Rust
 * {@code tokenizers} crate reads it: added tokens matched literally, then {@code BertNormalizer}, then
 * {@code BertPreTokenizer}, then the {@code WordPiece} model, then the post-processor's special tokens.
 *
 * <p>Where Hugging Face's JS port and the Rust crate disagree, this follows Rust: the models were trained and
 * are served with it. The one known case is lowercasing: Rust lowercases character by character, so a Greek
 * word-final capital sigma becomes {@code σ}; JavaScript's {@code toLowerCase} makes it {@code ς}.
 *
 * <p>Immutable and thread-safe. Built once per model; {@link #encode} does no regex matching and allocates only
 * the pieces it looks up.
 */
public final class BertTokenizer {

    /** What {@code BertNormalizer} does, as the file sets it (a null {@code strip_accents} follows {@code lowercase}). */
    public record Normalization(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase) {}

    /**
     * The ids of one encoded text, special tokens included.
     *
     * @param truncated true when text was dropped to fit the caller's limit, so the caller can warn
     */
    public record Encoding(int[] ids, boolean truncated) {
        public Encoding {
            ids = ids.clone();
        }

        /** A copy: the record stays immutable. Use {@link #length()} and {@link #id(int)} in loops. */
        @Override
        public int[] ids() {
            return ids.clone();
        }

        public int length() {
            return ids.length;
        }

        public int id(int position) {
            return ids[position];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Encoding e && e.truncated == truncated && Arrays.equals(e.ids, ids);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ids) * 31 + Boolean.hashCode(truncated);
        }

        @Override
        public String toString() {
            return "Encoding" + Arrays.toString(ids) + (truncated ? " (truncated)" : "");
        }
    }

    private final String sourceName;
    private final Map<String, Integer> vocab;
    private final String[] tokenById;
    private final int unkId;
    private final String subwordPrefix;
    private final int maxInputCharsPerWord;
    private final Normalization normalization;
    private final AddedTokenSplitter addedTokens;
    private final int[] specialPrefix;
    private final int[] specialSuffix;
    private final int fileTruncationLength;

    private BertTokenizer(String sourceName, Map<String, Integer> vocab, String[] tokenById, int unkId,
            String subwordPrefix, int maxInputCharsPerWord, Normalization normalization,
            AddedTokenSplitter addedTokens, int[] specialPrefix, int[] specialSuffix, int fileTruncationLength) {
        this.sourceName = sourceName;
        this.vocab = vocab;
        this.tokenById = tokenById;
        this.unkId = unkId;
        this.subwordPrefix = subwordPrefix;
        this.maxInputCharsPerWord = maxInputCharsPerWord;
        this.normalization = normalization;
        this.addedTokens = addedTokens;
        this.specialPrefix = specialPrefix;
        this.specialSuffix = specialSuffix;
        this.fileTruncationLength = fileTruncationLength;
    }

    /**
     * Reads a {@code tokenizer.json}. {@code sourceName} is only used in error messages (a path or resource name).
     *
     * @throws TokenizerFormatException if the JSON is malformed or configures anything but BERT WordPiece
     */
    public static BertTokenizer fromJson(InputStream in, String sourceName) {
        TokenizerJson.Parsed parsed = TokenizerJson.parse(in, sourceName);
        JsonNode root = parsed.root();
        JsonNode model = TokenizerJson.requireObject(root, "model", "model", sourceName);
        String type = TokenizerJson.text(model, "type", null);
        if (type != null && !type.equals("WordPiece")) {
            throw new TokenizerFormatException(sourceName, "model type is " + type + ", BertTokenizer needs WordPiece");
        }
        if (type == null && model.has("merges")) {
            throw new TokenizerFormatException(sourceName, "model has merges (BPE), BertTokenizer needs WordPiece");
        }
        Map<String, Integer> vocab = TokenizerJson.vocab(parsed, sourceName);
        String unk = TokenizerJson.text(model, "unk_token", "[UNK]");
        Integer unkId = vocab.get(unk);
        if (unkId == null) throw new TokenizerFormatException(sourceName, "unk_token \"" + unk + "\" is not in the vocab");
        String prefix = TokenizerJson.text(model, "continuing_subword_prefix", "##");
        JsonNode maxChars = model.get("max_input_chars_per_word");
        int maxInputChars = maxChars == null || maxChars.isNull() ? 100 : maxChars.asInt();
        if (maxInputChars <= 0) throw new TokenizerFormatException(sourceName, "max_input_chars_per_word must be positive, is " + maxChars);

        Normalization norm = normalization(root.get("normalizer"), sourceName);
        JsonNode pre = root.get("pre_tokenizer");
        String preType = pre == null || pre.isNull() ? "none" : TokenizerJson.text(pre, "type", "?");
        if (!preType.equals("BertPreTokenizer")) {
            throw new TokenizerFormatException(sourceName, "pre_tokenizer is " + preType + ", BertTokenizer implements only BertPreTokenizer");
        }

        List<AddedToken> added = TokenizerJson.addedTokens(root, sourceName);
        List<int[]> specials = postProcessor(root.get("post_processor"), vocab, sourceName);
        JsonNode truncation = root.path("truncation").path("max_length");
        int fileTruncation = truncation.canConvertToInt() && truncation.asInt() > 0 ? truncation.asInt() : -1;
        return new BertTokenizer(sourceName, vocab, TokenizerJson.inverse(vocab, added), unkId, prefix, maxInputChars,
                norm, new AddedTokenSplitter(added), specials.get(0), specials.get(1), fileTruncation);
    }

    private static Normalization normalization(JsonNode n, String sourceName) {
        if (n == null || n.isNull()) return new Normalization(false, false, false, false);
        String type = TokenizerJson.text(n, "type", "?");
        if (!type.equals("BertNormalizer")) {
            throw new TokenizerFormatException(sourceName, "normalizer is " + type + ", BertTokenizer implements only BertNormalizer");
        }
        boolean lowercase = TokenizerJson.bool(n, "lowercase", true);
        return new Normalization(TokenizerJson.bool(n, "clean_text", true), TokenizerJson.bool(n, "handle_chinese_chars", true),
                TokenizerJson.bool(n, "strip_accents", lowercase), lowercase);
    }

    /** The special ids before and after the text for a single sentence: [CLS] and [SEP] for BERT. */
    private static List<int[]> postProcessor(JsonNode p, Map<String, Integer> vocab, String sourceName) {
        if (p == null || p.isNull()) return List.of(new int[0], new int[0]);
        String type = TokenizerJson.text(p, "type", "?");
        switch (type) {
            case "BertProcessing", "RobertaProcessing" -> {
                return List.of(new int[] {pairId(p, "cls", sourceName)}, new int[] {pairId(p, "sep", sourceName)});
            }
            case "TemplateProcessing" -> {
                JsonNode single = p.get("single");
                JsonNode specials = p.get("special_tokens");
                if (single == null || !single.isArray()) {
                    throw new TokenizerFormatException(sourceName, "TemplateProcessing without a \"single\" template");
                }
                List<Integer> before = new ArrayList<>(), after = new ArrayList<>();
                boolean seenSequence = false;
                for (JsonNode item : single) {
                    if (item.has("Sequence")) {
                        if (seenSequence) throw new TokenizerFormatException(sourceName, "single template has the sequence twice");
                        seenSequence = true;
                    } else if (item.has("SpecialToken")) {
                        String name = TokenizerJson.text(item.get("SpecialToken"), "id", null);
                        JsonNode spec = specials == null ? null : specials.get(name);
                        if (spec == null || !spec.has("ids") || spec.get("ids").isEmpty()) {
                            throw new TokenizerFormatException(sourceName, "template names special token " + name + " that special_tokens does not define");
                        }
                        for (JsonNode id : spec.get("ids")) (seenSequence ? after : before).add(id.asInt());
                    } else {
                        throw new TokenizerFormatException(sourceName, "unknown template item " + item);
                    }
                }
                if (!seenSequence) throw new TokenizerFormatException(sourceName, "single template has no Sequence");
                return List.of(before.stream().mapToInt(Integer::intValue).toArray(), after.stream().mapToInt(Integer::intValue).toArray());
            }
            default -> throw new TokenizerFormatException(sourceName, "post_processor " + type + " is not supported (TemplateProcessing, BertProcessing)");
        }
    }

    private static int pairId(JsonNode p, String field, String sourceName) {
        JsonNode pair = p.get(field);
        if (pair == null || !pair.isArray() || pair.size() != 2 || !pair.get(1).canConvertToInt()) {
            throw new TokenizerFormatException(sourceName, "post_processor." + field + " must be [token, id]");
        }
        return pair.get(1).asInt();
    }

    /** Where this tokenizer was read from, as given to {@link #fromJson}. */
    public String sourceName() {
        return sourceName;
    }

    public Normalization normalization() {
        return normalization;
    }

    /** One more than the largest id, so every id is a valid row of the embedding table. */
    public int vocabSize() {
        return tokenById.length;
    }

    /** The token with this id. */
    public String token(int id) {
        if (id < 0 || id >= tokenById.length || tokenById[id] == null) {
            throw new IllegalArgumentException("no token with id " + id + " in " + sourceName);
        }
        return tokenById[id];
    }

    /** The id of this token (a vocab entry or an added token), or -1 when there is none. */
    public int id(String token) {
        Integer id = vocab.get(token);
        if (id != null) return id;
        for (int i = 0; i < tokenById.length; i++) if (token.equals(tokenById[i])) return i;
        return -1;
    }

    /**
     * The {@code truncation.max_length} the file itself sets (all-MiniLM-L6-v2's says 128), if any. Informational:
     * {@link #encode} truncates to the limit its caller passes, which knows the model's position count; the file's
     * padding section is ignored likewise (the caller builds attention masks).
     */
    public OptionalInt fileTruncationLength() {
        return fileTruncationLength > 0 ? OptionalInt.of(fileTruncationLength) : OptionalInt.empty();
    }

    /** How many special tokens the post-processor wraps around one sentence (2: [CLS] and [SEP]). */
    public int specialTokenCount() {
        return specialPrefix.length + specialSuffix.length;
    }

    /**
     * Encodes one sentence with its special tokens, keeping at most {@code maxTokens} ids in all. When the text is
     * longer, its end is dropped (the special tokens stay) and {@link Encoding#truncated()} is true.
     *
     * @param maxTokens the model's position count, e.g. 512 for BERT (so 510 ids of text)
     */
    public Encoding encode(String text, int maxTokens) {
        int budget = maxTokens - specialTokenCount();
        if (budget < 0) {
            throw new IllegalArgumentException("maxTokens " + maxTokens + " leaves no room for the " + specialTokenCount() + " special tokens");
        }
        IntList content = new IntList(Math.min(budget, text.length() / 3 + 8));
        boolean truncated = tokenize(text, content, budget);
        int[] ids = new int[specialPrefix.length + content.size + specialSuffix.length];
        System.arraycopy(specialPrefix, 0, ids, 0, specialPrefix.length);
        System.arraycopy(content.values, 0, ids, specialPrefix.length, content.size);
        System.arraycopy(specialSuffix, 0, ids, specialPrefix.length + content.size, specialSuffix.length);
        return new Encoding(ids, truncated);
    }

    /** The text's ids without special tokens and without a limit. */
    public int[] tokenize(String text) {
        IntList out = new IntList(16);
        tokenize(text, out, Integer.MAX_VALUE);
        return Arrays.copyOf(out.values, out.size);
    }

    /** Appends up to {@code limit} ids; returns true if more would have followed. */
    private boolean tokenize(String text, IntList out, int limit) {
        for (AddedTokenSplitter.Segment segment : addedTokens.split(text)) {
            switch (segment) {
                case AddedTokenSplitter.Added a -> {
                    if (out.size >= limit) return true;
                    out.add(a.token().id());
                }
                case AddedTokenSplitter.Plain p -> {
                    if (wordPieces(normalize(p.text()), out, limit)) return true;
                }
            }
        }
        return false;
    }

    // ---- BertNormalizer ----

    String normalize(String text) {
        Normalization n = normalization;
        StringBuilder sb = new StringBuilder(text.length() + 8);
        boolean ascii = true;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (n.cleanText()) {
                if (cp == 0 || cp == 0xFFFD || isControl(cp)) continue;
                if (isWhitespace(cp)) cp = ' ';
            }
            if (cp >= 0x80) ascii = false;
            if (n.handleChineseChars() && isChineseChar(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        }
        if (ascii) {
            if (n.lowercase()) {
                for (int i = 0; i < sb.length(); i++) {
                    char c = sb.charAt(i);
                    if (c >= 'A' && c <= 'Z') sb.setCharAt(i, (char) (c + 32));
                }
            }
            return sb.toString();
        }
        String s = sb.toString();
        if (!n.stripAccents() && !n.lowercase()) return s;
        if (n.stripAccents()) s = Normalizer.normalize(s, Normalizer.Form.NFD);
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (n.stripAccents() && Character.getType(cp) == Character.NON_SPACING_MARK) continue;
            if (n.lowercase()) {
                // Per character, like Rust's char::to_lowercase: no context rules such as Greek final sigma.
                // U+0130 is the one character whose lowercase is two characters.
                if (cp == 0x130) {
                    out.append("i\u0307");
                    continue;
                }
                cp = Character.toLowerCase(cp);
            }
            out.appendCodePoint(cp);
        }
        return out.toString();
    }

    /** Rust's char::is_whitespace (the Unicode White_Space property); Java's own excludes no-break spaces. */
    static boolean isWhitespace(int cp) {
        return switch (cp) {
            case '\t', '\n', 0x0B, 0x0C, '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }

    /** Unicode "Other" (Cc, Cf, Cn, Co, Cs) except tab, newline and carriage return, which count as whitespace. */
    static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        if (cp >= 0x20 && cp < 0x7F) return false;
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.UNASSIGNED, Character.PRIVATE_USE, Character.SURROGATE -> true;
            default -> false;
        };
    }

    /** The CJK Unified Ideographs blocks as BERT lists them (not Hiragana, Katakana or Hangul). */
    static boolean isChineseChar(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    /** BERT punctuation: all ASCII non-alphanumeric printables (so also $ + < = > ^ ` | ~), plus Unicode P*. */
    static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
        if (cp < 128) return false;
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                    Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                    Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    // ---- BertPreTokenizer + WordPiece ----

    /** Splits on whitespace and around each punctuation character, and WordPieces every word. */
    private boolean wordPieces(String s, IntList out, int limit) {
        int wordStart = -1;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int next = i + Character.charCount(cp);
            boolean space = isWhitespace(cp);
            boolean punct = !space && isPunctuation(cp);
            if (space || punct) {
                if (wordStart >= 0 && wordPiece(s, wordStart, i, out, limit)) return true;
                wordStart = -1;
                if (punct && wordPiece(s, i, next, out, limit)) return true;
            } else if (wordStart < 0) {
                wordStart = i;
            }
            i = next;
        }
        return wordStart >= 0 && wordPiece(s, wordStart, s.length(), out, limit);
    }

    /** Greedy longest-match-first over one word; a word with any unmatched rest is a single [UNK]. */
    private boolean wordPiece(String s, int from, int to, IntList out, int limit) {
        if (s.codePointCount(from, to) > maxInputCharsPerWord) {
            return addLimited(out, unkId, limit);
        }
        int mark = out.size;
        int start = from;
        while (start < to) {
            int end = to;
            int found = -1;
            while (start < end) {
                String piece = start == from ? s.substring(start, end) : subwordPrefix + s.substring(start, end);
                Integer id = vocab.get(piece);
                if (id != null) {
                    found = id;
                    break;
                }
                end = Character.isLowSurrogate(s.charAt(end - 1)) && end - 2 >= start && Character.isHighSurrogate(s.charAt(end - 2)) ? end - 2 : end - 1;
            }
            if (found < 0) {
                out.size = mark;
                return addLimited(out, unkId, limit);
            }
            if (addLimited(out, found, limit)) return true;
            start = end;
        }
        return false;
    }

    private static boolean addLimited(IntList out, int id, int limit) {
        if (out.size >= limit) return true;
        out.add(id);
        return false;
    }

}
