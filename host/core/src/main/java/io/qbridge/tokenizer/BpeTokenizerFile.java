package io.qbridge.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.qbridge.tokenizer.BpeTokenizer.ByteLevel;
import io.qbridge.tokenizer.BpeTokenizer.DecoderConfig;
import io.qbridge.tokenizer.BpeTokenizer.Metaspace;
import io.qbridge.tokenizer.BpeTokenizer.NormalizerStep;
import io.qbridge.tokenizer.BpeTokenizer.PreTokenizerStep;
import io.qbridge.tokenizer.BpeTokenizer.Prepend;
import io.qbridge.tokenizer.BpeTokenizer.PrependScheme;
import io.qbridge.tokenizer.BpeTokenizer.Replace;
import io.qbridge.tokenizer.BpeTokenizer.Split;
import io.qbridge.tokenizer.BpeTokenizer.SplitBehavior;
import io.qbridge.tokenizer.BpeTokenizer.Tables;
import io.qbridge.tokenizer.BpeTokenizer.UnicodeForm;
import java.io.InputStream;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads a Hugging Face {@code tokenizer.json} with a {@code BPE} model into the tables {@link BpeTokenizer} encodes
 * and decodes with: the vocab and added tokens, the merges by rank, the normalizer and pre-tokenizer steps, the
 * decoder settings and the begin/end-of-sequence ids. It owns validation: a malformed file, a model other than BPE,
 * a merge naming a token not in the vocab, or a component {@link BpeTokenizer} does not implement is rejected here
 * with a {@link TokenizerFormatException} naming it, so a built tokenizer never meets one.
 */
final class BpeTokenizerFile {

    private BpeTokenizerFile() {}

    /** The tables of the file {@code in}; {@code sourceName} is only used in error messages. */
    static Tables read(InputStream in, String sourceName) {
        TokenizerJson.Parsed parsed = TokenizerJson.parse(in, sourceName);
        JsonNode root = parsed.root();
        Tables b = new Tables();
        b.sourceName = sourceName;
        JsonNode model = TokenizerJson.requireObject(root, "model", "model", sourceName);
        String type = TokenizerJson.text(model, "type", "BPE");
        if (!type.equals("BPE")) throw new TokenizerFormatException(sourceName, "model type is " + type + ", BpeTokenizer needs BPE");
        if (model.hasNonNull("dropout") && model.get("dropout").asDouble() > 0) {
            throw new TokenizerFormatException(sourceName, "BPE dropout is for training; a tokenizer with dropout " + model.get("dropout") + " is not deterministic");
        }
        b.vocab = TokenizerJson.vocab(parsed, sourceName);
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
        return b;
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
            out.putIfAbsent(BpeTokenizer.pack(l, r), BpeTokenizer.pack(rank, id));
        }
        return out;
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

    private static void specialIds(JsonNode post, List<AddedToken> added, Tables b, String sourceName) {
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
}
