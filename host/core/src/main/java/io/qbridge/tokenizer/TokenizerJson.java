package io.qbridge.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qbridge.json.JsonTrees;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Reading a Hugging Face {@code tokenizer.json}: the parts shared by the WordPiece and BPE loaders. */
final class TokenizerJson {
    /**
     * The parser's factory, field names neither canonicalized nor interned: a vocab's tens of thousands of keys each
     * occur once, so Jackson's symbol table and {@code String.intern} only cost time (65 of the 390 ms MiniLM's file
     * took to read in a fresh process, BENCHMARKS.md §1b, ninth pass). The rest of the file becomes a tree through
     * {@link JsonTrees}, without an {@code ObjectMapper}.
     */
    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES).disable(JsonFactory.Feature.INTERN_FIELD_NAMES).build();

    private TokenizerJson() {}

    /**
     * A parsed file: its tree without {@code model.vocab}, and that vocab (token to id, checked as {@link #readVocab}
     * says), or null when the file has no {@code model.vocab} object.
     */
    record Parsed(JsonNode root, Map<String, Integer> vocab) {}

    /**
     * Parses {@code in}. The vocab is streamed straight into its map rather than built as a tree first: it is nearly
     * all of the file, and its tree doubled the time a fresh process took to read it (BENCHMARKS.md §1b, ninth pass).
     */
    static Parsed parse(InputStream in, String sourceName) {
        if (in == null) throw new TokenizerFormatException(sourceName, "no such file or resource");
        try (JsonParser p = JSON.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new TokenizerFormatException(sourceName, "not a JSON object (empty or wrong kind of file)");
            }
            ObjectNode root = JsonNodeFactory.instance.objectNode();
            Map<String, Integer> vocab = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (p.nextToken() == JsonToken.START_OBJECT && name.equals("model")) {
                    ObjectNode model = JsonNodeFactory.instance.objectNode();
                    vocab = null; // a repeated "model" replaces the first, as in a tree
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String field = p.currentName();
                        if (p.nextToken() == JsonToken.START_OBJECT && field.equals("vocab")) vocab = readVocab(p, sourceName);
                        else model.set(field, JsonTrees.read(p));
                    }
                    root.set(name, model);
                } else {
                    root.set(name, JsonTrees.read(p));
                }
            }
            return new Parsed(root, vocab);
        } catch (JacksonException e) {
            throw new TokenizerFormatException(sourceName, "malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TokenizerFormatException(sourceName, "cannot read: " + e.getMessage(), e);
        }
    }

    /** The entries of the vocab object the parser is at, up to its end, checked for ids that are negative, not integers, or repeated. */
    private static Map<String, Integer> readVocab(JsonParser p, String sourceName) throws IOException {
        Map<String, Integer> vocab = new HashMap<>(1 << 16);
        Map<Integer, String> seen = new HashMap<>(1 << 16);
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            JsonToken t = p.nextToken();
            if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT || p.getIntValue() < 0) {
                Object id = t.isNumeric() ? p.getText() : JsonTrees.read(p); // a string keeps its quotes
                throw new TokenizerFormatException(sourceName, "vocab entry \"" + token + "\" has id " + id + ", not a non-negative integer");
            }
            int id = p.getIntValue();
            Integer previousId = vocab.put(token, id);
            if (previousId != null) seen.remove(previousId); // a repeated key: the last one counts, as in a JSON object
            String previous = seen.put(id, token);
            if (previous != null) {
                throw new TokenizerFormatException(sourceName, "vocab ids repeat: \"" + previous + "\" and \"" + token + "\" both have id " + id);
            }
        }
        return vocab;
    }

    static JsonNode requireObject(JsonNode parent, String field, String where, String sourceName) {
        JsonNode n = parent.get(field);
        if (n == null || n.isNull()) throw new TokenizerFormatException(sourceName, "missing \"" + where + "\" section");
        if (!n.isObject()) throw new TokenizerFormatException(sourceName, "\"" + where + "\" is not a JSON object");
        return n;
    }

    static String text(JsonNode parent, String field, String defaultValue) {
        JsonNode n = parent.get(field);
        return n == null || n.isNull() ? defaultValue : n.asText();
    }

    static boolean bool(JsonNode parent, String field, boolean defaultValue) {
        JsonNode n = parent.get(field);
        return n == null || n.isNull() ? defaultValue : n.asBoolean();
    }

    /** The parsed file's vocab, which must be a non-empty object. */
    static Map<String, Integer> vocab(Parsed parsed, String sourceName) {
        if (parsed.vocab() == null || parsed.vocab().isEmpty()) throw new TokenizerFormatException(sourceName, "\"model.vocab\" is missing or empty");
        return parsed.vocab();
    }

    static List<AddedToken> addedTokens(JsonNode root, String sourceName) {
        JsonNode arr = root.get("added_tokens");
        List<AddedToken> out = new ArrayList<>();
        if (arr == null || arr.isNull()) return out;
        if (!arr.isArray()) throw new TokenizerFormatException(sourceName, "\"added_tokens\" is not an array");
        for (JsonNode t : arr) {
            JsonNode id = t.get("id");
            String content = text(t, "content", null);
            if (id == null || !id.canConvertToInt() || content == null || content.isEmpty()) {
                throw new TokenizerFormatException(sourceName, "added token without a valid id and content: " + t);
            }
            out.add(new AddedToken(id.asInt(), content, bool(t, "special", false), bool(t, "lstrip", false),
                    bool(t, "rstrip", false), bool(t, "single_word", false)));
        }
        return out;
    }

    /** Id to token, as an array; gaps (ids no token has) stay null. */
    static String[] inverse(Map<String, Integer> vocab, List<AddedToken> added) {
        int size = 0;
        for (int id : vocab.values()) size = Math.max(size, id + 1);
        for (AddedToken t : added) size = Math.max(size, t.id() + 1);
        String[] byId = new String[size];
        vocab.forEach((tok, id) -> byId[id] = tok);
        for (AddedToken t : added) byId[t.id()] = t.content();
        return byId;
    }
}
