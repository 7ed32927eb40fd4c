package io.qbridge.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * JSON trees built from a streaming parser, node for node as {@code ObjectMapper.readTree} builds them with its
 * defaults (a repeated key keeps its last value; integers as int, long or big-integer nodes by size; content after
 * the first value ignored), without constructing an {@code ObjectMapper} (see the package comment).
 */
public final class JsonTrees {
    private static final JsonFactory FACTORY = new JsonFactory();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private JsonTrees() {}

    /**
     * The document in {@code bytes}, or {@link MissingNode} when it holds no value; {@code bigDecimals} keeps
     * fractional numbers as exact decimals (as databind's {@code USE_BIG_DECIMAL_FOR_FLOATS}), else as doubles.
     * Malformed JSON throws the parser's exception, as {@code ObjectMapper.readTree} does.
     */
    public static JsonNode parse(byte[] bytes, boolean bigDecimals) throws JsonProcessingException {
        try (JsonParser p = FACTORY.createParser(bytes)) {
            return p.nextToken() == null ? MissingNode.getInstance() : read(p, bigDecimals);
        } catch (JsonProcessingException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("reading JSON from memory", e); // bytes in memory: no I/O to fail
        }
    }

    /** The value that starts at the parser's current token, read through its last token; fractional numbers as doubles. */
    public static JsonNode read(JsonParser p) throws IOException {
        return read(p, false);
    }

    // Recursion is bounded: the parser refuses nesting deeper than its StreamReadConstraints allow (1,000 by default).
    private static JsonNode read(JsonParser p, boolean bigDecimals) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                ObjectNode o = NODES.objectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    o.set(name, read(p, bigDecimals));
                }
                return o;
            }
            case START_ARRAY -> {
                ArrayNode a = NODES.arrayNode();
                while (p.nextToken() != JsonToken.END_ARRAY) a.add(read(p, bigDecimals));
                return a;
            }
            case VALUE_STRING -> {
                return NODES.textNode(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                return switch (p.getNumberType()) {
                    case INT -> NODES.numberNode(p.getIntValue());
                    case LONG -> NODES.numberNode(p.getLongValue());
                    default -> NODES.numberNode(p.getBigIntegerValue());
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                return bigDecimals ? NODES.numberNode(p.getDecimalValue()) : NODES.numberNode(p.getDoubleValue());
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return NODES.booleanNode(t == JsonToken.VALUE_TRUE);
            }
            case VALUE_NULL -> {
                return NODES.nullNode();
            }
            default -> throw new JsonParseException(p, "unexpected token " + t);
        }
    }
}
