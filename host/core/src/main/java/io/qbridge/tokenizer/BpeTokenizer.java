package io.qbridge.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Hugging Face {@code tokenizer.json} with a {@code BPE} model, in the two flavours LLaMA-family checkpoints use:
 *
 * <ul>
 *   <li>sentencepiece-style (LLaMA 1/2, TinyLlama, Mistral): spaces become "▁" (a {@code Prepend} +
 *       {@code Replace} normalizer, or a {@code Metaspace} pre-tokenizer), characters missing from the vocab
 *       become {@code <0xXX>} byte tokens ({@code byte_fallback}), merges by rank;
 *   <li>byte-level (GPT-2, LLaMA 3): the text is split by the file's regex, each piece's UTF-8 bytes are mapped
 *       to GPT-2's printable alphabet ({@link ByteLevelAlphabet}), merges by rank.
 * </ul>
 *
 * <p>The pipeline is the Rust {@code tokenizers} crate's: added tokens are cut out of the raw text first; each
 * remaining run is normalized, pre-tokenized and BPE-merged on its own. Merging follows the crate exactly: always
 * the pair with the lowest merge rank, the leftmost on ties. Only the components these checkpoints use are
 * implemented; any other one is rejected when the file is loaded, naming it.
 */
public final class BpeTokenizer implements TextTokenizer {

    /** One step of the file's normalizer (closed: anything else is rejected at load). */
    sealed interface NormalizerStep {}

    record Prepend(String prefix) implements NormalizerStep {}

    record Replace(String pattern, String content) implements NormalizerStep {}

    record UnicodeForm(Normalizer.Form form) implements NormalizerStep {}

    /** One step of the file's pre-tokenizer (closed: anything else is rejected at load). */
    sealed interface PreTokenizerStep {}

    /** A regex or literal split; {@code behavior} is how matches relate to the text between them. */
    record Split(Pattern pattern, SplitBehavior behavior) implements PreTokenizerStep {}

    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizerStep {}

    record Metaspace(String replacement, PrependScheme prependScheme, boolean split) implements PreTokenizerStep {}

    enum SplitBehavior { ISOLATED, REMOVED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT }

    enum PrependScheme { ALWAYS, FIRST, NEVER }

    /** How ids turn back into bytes: GPT-2's alphabet, or pieces with a space marker and byte tokens. */
    record DecoderConfig(boolean byteLevel, String spaceMarker, boolean byteFallback, int stripLeadingSpaces) {}

    /** GPT-2's split, used by a {@code ByteLevel} pre-tokenizer with {@code use_regex: true}. */
    private static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", Pattern.UNICODE_CHARACTER_CLASS);

    private final String sourceName;
    private final Map<String, Integer> vocab;
    private final String[] tokenById;
    /** (left id, right id) packed in a long, to (rank, merged id) packed in a long. */
    private final Map<Long, Long> merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final String subwordPrefix;
    private final String wordSuffix;
    private final int[] byteTokenIds; // byte -> id of <0xXX>, or -1
    private final List<NormalizerStep> normalizer;
    private final List<PreTokenizerStep> preTokenizer;
    private final AddedTokenSplitter addedTokens;
    private final boolean[] isSpecial;
    private final DecoderConfig decoder;
    private final int bosId;
    private final int eosId;

    private BpeTokenizer(Builder b) {
        this.sourceName = b.sourceName;
        this.vocab = b.vocab;
        this.tokenById = b.tokenById;
        this.merges = b.merges;
        this.unkId = b.unkId;
        this.fuseUnk = b.fuseUnk;
        this.byteFallback = b.byteFallback;
        this.ignoreMerges = b.ignoreMerges;
        this.subwordPrefix = b.subwordPrefix;
        this.wordSuffix = b.wordSuffix;
        this.byteTokenIds = b.byteTokenIds;
        this.normalizer = List.copyOf(b.normalizer);
        this.preTokenizer = List.copyOf(b.preTokenizer);
        this.addedTokens = b.addedTokens;
        this.isSpecial = b.isSpecial;
        this.decoder = b.decoder;
        this.bosId = b.bosId;
        this.eosId = b.eosId;
    }

    private static final class Builder {
        String sourceName;
        Map<String, Integer> vocab;
        String[] tokenById;
        Map<Long, Long> merges;
        int unkId = -1;
        boolean fuseUnk, byteFallback, ignoreMerges;
        String subwordPrefix, wordSuffix;
        int[] byteTokenIds;
        List<NormalizerStep> normalizer = new ArrayList<>();
        List<PreTokenizerStep> preTokenizer = new ArrayList<>();
        AddedTokenSplitter addedTokens;
        boolean[] isSpecial;
        DecoderConfig decoder;
        int bosId = -1, eosId = -1;
    }

    /**
     * Reads a {@code tokenizer.json}. {@code sourceName} is only used in error messages.
     *
     * <p>The begin/end-of-sequence ids are the special tokens the file's {@code TemplateProcessing} puts before
     * (after) the text; failing that, the added token named {@code <s>}, {@code <|begin_of_text|>} or
     * {@code <|endoftext|>} (for the end: {@code </s>}, {@code <|end_of_text|>}, {@code <|endoftext|>}).
     *
     * @throws TokenizerFormatException if the JSON is malformed, is not BPE, or uses a component not implemented
     */
    public static BpeTokenizer fromJson(InputStream in, String sourceName) {
        JsonNode root = TokenizerJson.parse(in, sourceName);
        Builder b = new Builder();
        b.sourceName = sourceName;
        JsonNode model = TokenizerJson.requireObject(root, "model", "model", sourceName);
        String type = TokenizerJson.text(model, "type", "BPE");
        if (!type.equals("BPE")) throw new TokenizerFormatException(sourceName, "model type is " + type + ", BpeTokenizer needs BPE");
        if (model.hasNonNull("dropout") && model.get("dropout").asDouble() > 0) {
            throw new TokenizerFormatException(sourceName, "BPE dropout is for training; a tokenizer with dropout " + model.get("dropout") + " is not deterministic");
        }
        b.vocab = TokenizerJson.vocab(model, sourceName);
        List<AddedToken> added = TokenizerJson.addedTokens(root, sourceName);
        b.tokenById = TokenizerJson.inverse(b.vocab, added);
        b.isSpecial = new boolean[b.tokenById.length];
        for (AddedToken t : added) if (t.special()) b.isSpecial[t.id()] = true;
        b.addedTokens = new AddedTokenSplitter(added);
        String unk = TokenizerJson.text(model, "unk_token", null);
        if (unk != null) {
            Integer id = b.vocab.get(unk);
            if (id == null) throw new TokenizerFormatException(sourceName, "unk_token \"" + unk + "\" is not in the vocab");
            b.unkId = id;
        }
        b.fuseUnk = TokenizerJson.bool(model, "fuse_unk", false);
        b.byteFallback = TokenizerJson.bool(model, "byte_fallback", false);
        b.ignoreMerges = TokenizerJson.bool(model, "ignore_merges", false);
        b.subwordPrefix = TokenizerJson.text(model, "continuing_subword_prefix", null);
        b.wordSuffix = TokenizerJson.text(model, "end_of_word_suffix", null);
        b.byteTokenIds = new int[256];
        for (int i = 0; i < 256; i++) b.byteTokenIds[i] = b.vocab.getOrDefault(String.format("<0x%02X>", i), -1);
        b.merges = merges(model, b.vocab, b.subwordPrefix, sourceName);
        normalizer(root.get("normalizer"), b.normalizer, sourceName);
        preTokenizer(root.get("pre_tokenizer"), b.preTokenizer, sourceName);
        b.decoder = decoder(root.get("decoder"), b.preTokenizer);
        specialIds(root.get("post_processor"), added, b, sourceName);
        return new BpeTokenizer(b);
    }

    private static Map<Long, Long> merges(JsonNode model, Map<String, Integer> vocab, String prefix, String sourceName) {
        JsonNode arr = model.get("merges");
        if (arr == null || !arr.isArray()) throw new TokenizerFormatException(sourceName, "\"model.merges\" is missing or not an array");
        Map<Long, Long> out = new HashMap<>(arr.size() * 2);
        int prefixLength = prefix == null ? 0 : prefix.length();
        for (int rank = 0; rank < arr.size(); rank++) {
            JsonNode m = arr.get(rank);
            String left, right;
            if (m.isTextual()) {
                String[] parts = m.asText().split(" ", -1);
                if (parts.length != 2) throw new TokenizerFormatException(sourceName, "merge " + rank + " \"" + m.asText() + "\" is not two tokens separated by one space");
                left = parts[0];
                right = parts[1];
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                throw new TokenizerFormatException(sourceName, "merge " + rank + " is neither \"a b\" nor [\"a\", \"b\"]: " + m);
            }
            Integer l = vocab.get(left), r = vocab.get(right);
            // With a subword prefix the merged token drops the right part's prefix ("un" + "##able" = "unable").
            String merged = left + (prefixLength > 0 && right.startsWith(prefix) ? right.substring(prefixLength) : right);
            Integer id = vocab.get(merged);
            if (l == null || r == null || id == null) {
                String missing = l == null ? left : r == null ? right : merged;
                throw new TokenizerFormatException(sourceName, "merge " + rank + " (" + left + " " + right + ") uses \"" + missing + "\", which is not in the vocab");
            }
            out.putIfAbsent(pack(l, r), pack(rank, id));
        }
        return out;
    }

    private static long pack(int hi, int lo) {
        return ((long) hi << 32) | (lo & 0xFFFFFFFFL);
    }

    private static void normalizer(JsonNode n, List<NormalizerStep> out, String sourceName) {
        if (n == null || n.isNull()) return;
        String type = TokenizerJson.text(n, "type", "?");
        switch (type) {
            case "Sequence" -> {
                for (JsonNode step : n.path("normalizers")) normalizer(step, out, sourceName);
            }
            case "Prepend" -> out.add(new Prepend(TokenizerJson.text(n, "prepend", "")));
            case "Replace" -> out.add(new Replace(literalPattern(n, "normalizer Replace", sourceName), TokenizerJson.text(n, "content", "")));
            case "NFC" -> out.add(new UnicodeForm(Normalizer.Form.NFC));
            case "NFD" -> out.add(new UnicodeForm(Normalizer.Form.NFD));
            case "NFKC" -> out.add(new UnicodeForm(Normalizer.Form.NFKC));
            case "NFKD" -> out.add(new UnicodeForm(Normalizer.Form.NFKD));
            default -> throw new TokenizerFormatException(sourceName, "normalizer " + type + " is not supported by BpeTokenizer");
        }
    }

    private static String literalPattern(JsonNode n, String what, String sourceName) {
        JsonNode p = n.path("pattern");
        if (p.hasNonNull("String")) return p.get("String").asText();
        throw new TokenizerFormatException(sourceName, what + " with pattern " + p + ": only {\"String\": ...} patterns are supported");
    }

    private static void preTokenizer(JsonNode n, List<PreTokenizerStep> out, String sourceName) {
        if (n == null || n.isNull()) return;
        String type = TokenizerJson.text(n, "type", "?");
        switch (type) {
            case "Sequence" -> {
                for (JsonNode step : n.path("pretokenizers")) preTokenizer(step, out, sourceName);
            }
            case "Split" -> {
                if (TokenizerJson.bool(n, "invert", false)) throw new TokenizerFormatException(sourceName, "Split with invert: true is not supported");
                JsonNode p = n.path("pattern");
                Pattern pattern;
                if (p.hasNonNull("String")) {
                    pattern = Pattern.compile(Pattern.quote(p.get("String").asText()));
                } else if (p.hasNonNull("Regex")) {
                    try {
                        // Oniguruma's \s, \w, \d are Unicode-aware; Java's are ASCII-only unless told otherwise.
                        pattern = Pattern.compile(p.get("Regex").asText(), Pattern.UNICODE_CHARACTER_CLASS);
                    } catch (PatternSyntaxException e) {
                        throw new TokenizerFormatException(sourceName, "Split regex does not compile: " + e.getDescription(), e);
                    }
                } else {
                    throw new TokenizerFormatException(sourceName, "Split without a String or Regex pattern: " + p);
                }
                String behavior = TokenizerJson.text(n, "behavior", "Isolated");
                SplitBehavior sb = switch (behavior) {
                    case "Isolated" -> SplitBehavior.ISOLATED;
                    case "Removed" -> SplitBehavior.REMOVED;
                    case "MergedWithPrevious" -> SplitBehavior.MERGED_WITH_PREVIOUS;
                    case "MergedWithNext" -> SplitBehavior.MERGED_WITH_NEXT;
                    default -> throw new TokenizerFormatException(sourceName, "Split behavior " + behavior + " is not supported");
                };
                out.add(new Split(pattern, sb));
            }
            case "ByteLevel" -> out.add(new ByteLevel(TokenizerJson.bool(n, "add_prefix_space", true), TokenizerJson.bool(n, "use_regex", true)));
            case "Metaspace" -> {
                String replacement = TokenizerJson.text(n, "replacement", "▁");
                String scheme = TokenizerJson.text(n, "prepend_scheme", null);
                PrependScheme ps;
                if (scheme == null) {
                    // Files from before prepend_scheme existed say add_prefix_space.
                    ps = TokenizerJson.bool(n, "add_prefix_space", true) ? PrependScheme.ALWAYS : PrependScheme.NEVER;
                } else {
                    ps = switch (scheme) {
                        case "always" -> PrependScheme.ALWAYS;
                        case "first" -> PrependScheme.FIRST;
                        case "never" -> PrependScheme.NEVER;
                        default -> throw new TokenizerFormatException(sourceName, "Metaspace prepend_scheme " + scheme + " is unknown");
                    };
                }
                out.add(new Metaspace(replacement, ps, TokenizerJson.bool(n, "split", true)));
            }
            default -> throw new TokenizerFormatException(sourceName, "pre_tokenizer " + type + " is not supported by BpeTokenizer");
        }
    }

    /** Reads what the decoder section needs: byte-level, or the space marker, byte fallback and leading strip. */
    private static DecoderConfig decoder(JsonNode n, List<PreTokenizerStep> pre) {
        boolean byteLevel = pre.stream().anyMatch(s -> s instanceof ByteLevel);
        String marker = "▁";
        boolean fallback = false;
        int strip = 0;
        List<JsonNode> steps = new ArrayList<>();
        if (n != null && !n.isNull()) {
            if ("Sequence".equals(TokenizerJson.text(n, "type", ""))) n.path("decoders").forEach(steps::add);
            else steps.add(n);
        }
        for (JsonNode s : steps) {
            switch (TokenizerJson.text(s, "type", "")) {
                case "ByteLevel" -> byteLevel = true;
                case "ByteFallback" -> fallback = true;
                case "Replace" -> {
                    JsonNode p = s.path("pattern");
                    if (p.hasNonNull("String") && " ".equals(TokenizerJson.text(s, "content", ""))) marker = p.get("String").asText();
                }
                case "Strip" -> strip = s.path("start").asInt(0);
                case "Metaspace" -> {
                    marker = TokenizerJson.text(s, "replacement", "▁");
                    String scheme = TokenizerJson.text(s, "prepend_scheme", null);
                    boolean prepends = scheme == null ? TokenizerJson.bool(s, "add_prefix_space", true) : !scheme.equals("never");
                    strip = prepends ? 1 : 0;
                }
                default -> {
                    // Fuse and the like change nothing once tokens are joined as bytes.
                }
            }
        }
        return new DecoderConfig(byteLevel, marker, fallback, strip);
    }

    private static void specialIds(JsonNode post, List<AddedToken> added, Builder b, String sourceName) {
        if (post != null && "TemplateProcessing".equals(TokenizerJson.text(post, "type", ""))) {
            boolean afterSequence = false;
            for (JsonNode item : post.path("single")) {
                if (item.has("Sequence")) {
                    afterSequence = true;
                } else if (item.has("SpecialToken")) {
                    String name = TokenizerJson.text(item.get("SpecialToken"), "id", "");
                    JsonNode ids = post.path("special_tokens").path(name).path("ids");
                    if (!ids.isArray() || ids.size() != 1) {
                        throw new TokenizerFormatException(sourceName, "template special token " + name + " is not defined with exactly one id");
                    }
                    if (afterSequence) b.eosId = ids.get(0).asInt();
                    else b.bosId = ids.get(0).asInt();
                }
            }
        }
        Map<String, Integer> byContent = new HashMap<>();
        for (AddedToken t : added) byContent.put(t.content(), t.id());
        if (b.bosId < 0) b.bosId = firstPresent(byContent, "<s>", "<|begin_of_text|>", "<|endoftext|>");
        if (b.eosId < 0) b.eosId = firstPresent(byContent, "</s>", "<|end_of_text|>", "<|endoftext|>");
    }

    private static int firstPresent(Map<String, Integer> ids, String... names) {
        for (String n : names) if (ids.containsKey(n)) return ids.get(n);
        return -1;
    }

    // ---- accessors ----

    public String sourceName() {
        return sourceName;
    }

    @Override
    public int vocabSize() {
        return tokenById.length;
    }

    /** -1 if the file names none. */
    @Override
    public int bosId() {
        return bosId;
    }

    /** -1 if the file names none. */
    @Override
    public int eosId() {
        return eosId;
    }

    /** True for byte-level (GPT-2 / LLaMA 3) files, false for sentencepiece-style ones. */
    public boolean isByteLevel() {
        return decoder.byteLevel();
    }

    public String token(int id) {
        checkId(id);
        return tokenById[id];
    }

    /** The id of a vocab entry or added token, or -1. */
    public int id(String token) {
        Integer id = vocab.get(token);
        if (id != null) return id;
        for (int i = 0; i < tokenById.length; i++) if (token.equals(tokenById[i])) return i;
        return -1;
    }

    // ---- encoding ----

    /** The ids of {@code text}, after the begin-of-sequence id if {@code addBos}. */
    public int[] encode(String text, boolean addBos) {
        return encode(text, addBos, false);
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean addEos) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (addBos) out.add(requireSpecial(bosId, "begin-of-sequence"));
        for (AddedTokenSplitter.Segment segment : addedTokens.split(text)) {
            switch (segment) {
                case AddedTokenSplitter.Added a -> out.add(a.token().id());
                case AddedTokenSplitter.Plain p -> {
                    String normalized = normalize(p.text());
                    for (String word : preTokenize(normalized, p.first())) bpe(word, out);
                }
            }
        }
        if (addEos) out.add(requireSpecial(eosId, "end-of-sequence"));
        return Arrays.copyOf(out.values, out.size);
    }

    private int requireSpecial(int id, String what) {
        if (id < 0) throw new IllegalStateException(sourceName + " defines no " + what + " token");
        return id;
    }

    String normalize(String s) {
        for (NormalizerStep step : normalizer) {
            s = switch (step) {
                case Prepend p -> s.isEmpty() ? s : p.prefix() + s;
                case Replace r -> s.replace(r.pattern(), r.content());
                case UnicodeForm f -> Normalizer.normalize(s, f.form());
            };
        }
        return s;
    }

    List<String> preTokenize(String s, boolean firstSegment) {
        List<String> pieces = new ArrayList<>();
        if (s.isEmpty()) return pieces;
        pieces.add(s);
        for (PreTokenizerStep step : preTokenizer) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            for (int i = 0; i < pieces.size(); i++) {
                String piece = pieces.get(i);
                switch (step) {
                    case Split sp -> split(piece, sp.pattern(), sp.behavior(), next);
                    case ByteLevel bl -> {
                        if (bl.addPrefixSpace() && !piece.startsWith(" ")) piece = " " + piece;
                        List<String> parts = new ArrayList<>();
                        if (bl.useRegex()) split(piece, GPT2_SPLIT, SplitBehavior.ISOLATED, parts);
                        else parts.add(piece);
                        for (String part : parts) next.add(ByteLevelAlphabet.encode(part.getBytes(StandardCharsets.UTF_8)));
                    }
                    case Metaspace ms -> {
                        piece = piece.replace(" ", ms.replacement());
                        boolean prepend = switch (ms.prependScheme()) {
                            case ALWAYS -> true;
                            case FIRST -> firstSegment && i == 0;
                            case NEVER -> false;
                        };
                        if (prepend && !piece.startsWith(ms.replacement())) piece = ms.replacement() + piece;
                        if (ms.split()) splitBeforeEach(piece, ms.replacement(), next);
                        else next.add(piece);
                    }
                }
            }
            pieces = next;
        }
        return pieces;
    }

    /** Cuts {@code s} at the pattern's matches; empty pieces are dropped, as in the Rust crate. */
    private static void split(String s, Pattern pattern, SplitBehavior behavior, List<String> out) {
        Matcher m = pattern.matcher(s);
        int last = 0;
        String carry = ""; // a match waiting to be glued to the next piece (MERGED_WITH_NEXT)
        while (m.find()) {
            if (m.end() == m.start()) continue;
            String gap = s.substring(last, m.start());
            String match = m.group();
            switch (behavior) {
                case ISOLATED -> {
                    addNonEmpty(out, gap);
                    out.add(match);
                }
                case REMOVED -> addNonEmpty(out, gap);
                case MERGED_WITH_PREVIOUS -> out.add(gap + match);
                case MERGED_WITH_NEXT -> {
                    addNonEmpty(out, carry + gap);
                    carry = match;
                }
            }
            last = m.end();
        }
        addNonEmpty(out, carry + s.substring(last));
    }

    /** Metaspace's split: a new piece starts at each marker, which stays at its front ("merged with next"). */
    private static void splitBeforeEach(String s, String marker, List<String> out) {
        int start = 0;
        for (int at = s.indexOf(marker, 1); at >= 0; at = s.indexOf(marker, at + marker.length())) {
            addNonEmpty(out, s.substring(start, at));
            start = at;
        }
        addNonEmpty(out, s.substring(start));
    }

    private static void addNonEmpty(List<String> out, String s) {
        if (!s.isEmpty()) out.add(s);
    }

    /** The Rust crate's {@code BPE::merge_word} and {@code Word::merge_all}. */
    private void bpe(String word, IntList out) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        // Symbols as a doubly linked list over arrays; len == 0 marks a symbol merged into its left neighbour.
        int max = word.length() * 4 + 1;
        int[] id = new int[max], prev = new int[max], next = new int[max], len = new int[max];
        int n = 0;
        int lastUnk = -1;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            String ch = word.substring(i, end);
            if (subwordPrefix != null && i > 0) ch = subwordPrefix + ch;
            if (wordSuffix != null && end == word.length()) ch = ch + wordSuffix;
            Integer tid = vocab.get(ch);
            i = end;
            if (tid != null) {
                n = pushSymbol(id, prev, next, len, n, tid);
                lastUnk = -1;
                continue;
            }
            if (byteFallback) {
                byte[] bytes = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte bt : bytes) all &= byteTokenIds[bt & 0xFF] >= 0;
                if (all) {
                    for (byte bt : bytes) n = pushSymbol(id, prev, next, len, n, byteTokenIds[bt & 0xFF]);
                    lastUnk = -1;
                    continue;
                }
            }
            if (unkId < 0) continue; // the Rust crate drops characters it cannot represent when there is no unk
            if (fuseUnk && lastUnk >= 0 && lastUnk == n - 1) continue; // consecutive unknowns make one [unk]
            n = pushSymbol(id, prev, next, len, n, unkId);
            lastUnk = n - 1;
        }
        if (n > 1) mergeAll(id, prev, next, len, n);
        for (int i = 0; i < n; i++) if (len[i] > 0) out.add(id[i]);
    }

    private static int pushSymbol(int[] id, int[] prev, int[] next, int[] len, int n, int tokenId) {
        id[n] = tokenId;
        prev[n] = n - 1;
        next[n] = n + 1;
        len[n] = 1;
        return n + 1;
    }

    /** A candidate merge: lowest rank first, then leftmost, as the Rust crate's heap orders them. */
    private record Merge(int pos, int rank, int newId) implements Comparable<Merge> {
        @Override
        public int compareTo(Merge o) {
            return rank != o.rank ? Integer.compare(rank, o.rank) : Integer.compare(pos, o.pos);
        }
    }

    private void mergeAll(int[] id, int[] prev, int[] next, int[] len, int n) {
        PriorityQueue<Merge> queue = new PriorityQueue<>(n);
        for (int i = 0; i < n - 1; i++) {
            Long m = merges.get(pack(id[i], id[i + 1]));
            if (m != null) queue.add(new Merge(i, (int) (m >>> 32), (int) (long) m));
        }
        while (!queue.isEmpty()) {
            Merge top = queue.poll();
            int pos = top.pos();
            if (len[pos] == 0 || next[pos] >= n) continue;
            int right = next[pos];
            // Skip entries made stale by an earlier merge on either side.
            Long current = merges.get(pack(id[pos], id[right]));
            if (current == null || (int) (long) current != top.newId()) continue;
            id[pos] = top.newId();
            len[pos] += len[right];
            len[right] = 0;
            next[pos] = next[right];
            if (next[right] < n) prev[next[right]] = pos;
            if (prev[pos] >= 0) {
                Long m = merges.get(pack(id[prev[pos]], id[pos]));
                if (m != null) queue.add(new Merge(prev[pos], (int) (m >>> 32), (int) (long) m));
            }
            if (next[pos] < n) {
                Long m = merges.get(pack(id[pos], id[next[pos]]));
                if (m != null) queue.add(new Merge(pos, (int) (m >>> 32), (int) (long) m));
            }
        }
    }

    // ---- decoding ----

    /** Decodes all ids; special tokens (BOS, EOS, ...) give no text. Invalid UTF-8 becomes U+FFFD. */
    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = -1;
        for (int id : ids) {
            out.writeBytes(decodeBytes(prev, id));
            if (!isSpecial[id]) prev = id;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * The bytes {@code token} adds after {@code prevToken}. The leading space the encoder put before the text is
     * dropped from the first piece, i.e. when {@code prevToken} is BOS or -1 (nothing before), as sentencepiece's
     * decoder does.
     */
    @Override
    public byte[] decodeBytes(int prevToken, int token) {
        checkId(token);
        if (isSpecial[token]) return new byte[0];
        String piece = tokenById[token];
        if (piece == null) return new byte[0];
        if (!vocab.containsKey(piece) || vocab.get(piece) != token) {
            return piece.getBytes(StandardCharsets.UTF_8); // a non-special added token: its literal text
        }
        if (decoder.byteLevel()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
            for (int i = 0; i < piece.length(); i++) {
                int b = ByteLevelAlphabet.byteOf(piece.charAt(i));
                if (b >= 0) out.write(b);
                else out.writeBytes(String.valueOf(piece.charAt(i)).getBytes(StandardCharsets.UTF_8));
            }
            return out.toByteArray();
        }
        if (decoder.byteFallback()) {
            int b = Llama2cTokenizer.bytePieceValue(piece);
            if (b >= 0) return new byte[] {(byte) b};
        }
        String text = piece.replace(decoder.spaceMarker(), " ");
        boolean first = prevToken < 0 || prevToken == bosId;
        int strip = first ? decoder.stripLeadingSpaces() : 0;
        int k = 0;
        while (k < strip && k < text.length() && text.charAt(k) == ' ') k++;
        return text.substring(k).getBytes(StandardCharsets.UTF_8);
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokenById.length) throw new IllegalArgumentException("token id " + id + " outside 0.." + (tokenById.length - 1) + " of " + sourceName);
    }

}
