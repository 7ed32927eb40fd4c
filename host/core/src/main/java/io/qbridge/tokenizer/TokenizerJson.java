package io.qbridge.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Reading a Hugging Face {@code tokenizer.json}: the parts shared by the WordPiece and BPE loaders. */
final class TokenizerJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private TokenizerJson() {}

    static JsonNode parse(InputStream in, String sourceName) {
        if (in == null) throw new TokenizerFormatException(sourceName, "no such file or resource");
        try {
            JsonNode root = MAPPER.readTree(in);
            if (root == null || !root.isObject()) {
                throw new TokenizerFormatException(sourceName, "not a JSON object (empty or wrong kind of file)");
            }
            return root;
        } catch (JacksonException e) {
            throw new TokenizerFormatException(sourceName, "malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TokenizerFormatException(sourceName, "cannot read: " + e.getMessage(), e);
        }
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

    /** The model's {@code vocab}: token to id, checked for ids that are negative or repeated. */
    static Map<String, Integer> vocab(JsonNode model, String sourceName) {
        JsonNode v = model.get("vocab");
        if (v == null || !v.isObject() || v.isEmpty()) {
            throw new TokenizerFormatException(sourceName, "\"model.vocab\" is missing or empty");
        }
        Map<String, Integer> vocab = new HashMap<>(v.size() * 2);
        Map<Integer, String> seen = new HashMap<>(v.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw new TokenizerFormatException(sourceName, "vocab entry \"" + e.getKey() + "\" has id " + e.getValue() + ", not a non-negative integer");
            }
            int id = e.getValue().asInt();
            String previous = seen.put(id, e.getKey());
            if (previous != null) {
                throw new TokenizerFormatException(sourceName, "vocab ids repeat: \"" + previous + "\" and \"" + e.getKey() + "\" both have id " + id);
            }
            vocab.put(e.getKey(), id);
        }
        return vocab;
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
