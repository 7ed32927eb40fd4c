package io.qbridge.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The streamed vocab of {@link TokenizerJson#parse} against a plain Jackson tree of the same file, and its errors. */
class TokenizerJsonTest {

    @Test
    void streamedVocabAndTreeEqualJacksonsTreeOnTheShippedTokenizers() throws IOException {
        for (String resource : new String[] {BertTokenizerGoldenTest.MINILM, BertTokenizerGoldenTest.BGE}) {
            byte[] bytes;
            try (InputStream in = TokenizerJsonTest.class.getResourceAsStream(resource)) {
                bytes = in.readAllBytes();
            }
            JsonNode tree = new ObjectMapper().readTree(bytes);
            Map<String, Integer> expected = new HashMap<>();
            tree.get("model").get("vocab").properties().forEach(e -> expected.put(e.getKey(), e.getValue().intValue()));

            TokenizerJson.Parsed parsed = TokenizerJson.parse(new ByteArrayInputStream(bytes), resource);
            assertEquals(30522, expected.size(), resource);
            assertEquals(expected, TokenizerJson.vocab(parsed, resource), resource);
            // everything but the vocab is the tree as Jackson reads it, field order included
            ((com.fasterxml.jackson.databind.node.ObjectNode) tree.get("model")).remove("vocab");
            assertEquals(tree, parsed.root(), resource);
            assertEquals(iterationOrder(tree), iterationOrder(parsed.root()), resource);
        }
    }

    private static String iterationOrder(JsonNode node) {
        StringBuilder sb = new StringBuilder();
        node.properties().forEach(e -> sb.append(e.getKey()).append(e.getValue().isObject() ? "{" + iterationOrder(e.getValue()) + "}" : "").append(','));
        return sb.toString();
    }

    @Test
    void aRepeatedKeyCountsOnceWithItsLastValue() {
        TokenizerJson.Parsed p = parse("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"a\": 2}}}");
        assertEquals(Map.of("a", 2, "b", 1), p.vocab());
    }

    @Test
    void badIdsAndMissingVocabAreNamed() {
        assertEquals("t.json: vocab entry \"b\" has id -1, not a non-negative integer",
                assertThrows(TokenizerFormatException.class, () -> parse("{\"model\": {\"vocab\": {\"a\": 0, \"b\": -1}}}")).getMessage());
        assertEquals("t.json: vocab entry \"b\" has id 1.5, not a non-negative integer",
                assertThrows(TokenizerFormatException.class, () -> parse("{\"model\": {\"vocab\": {\"b\": 1.5}}}")).getMessage());
        assertEquals("t.json: vocab entry \"b\" has id \"1\", not a non-negative integer",
                assertThrows(TokenizerFormatException.class, () -> parse("{\"model\": {\"vocab\": {\"b\": \"1\"}}}")).getMessage());
        assertEquals("t.json: vocab entry \"b\" has id 4294967296, not a non-negative integer",
                assertThrows(TokenizerFormatException.class, () -> parse("{\"model\": {\"vocab\": {\"b\": 4294967296}}}")).getMessage());
        assertEquals("t.json: vocab ids repeat: \"a\" and \"b\" both have id 0",
                assertThrows(TokenizerFormatException.class, () -> parse("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 0}}}")).getMessage());
        for (String noVocab : new String[] {"{\"model\": {}}", "{\"model\": {\"vocab\": {}}}", "{\"model\": {\"vocab\": [1]}}"}) {
            TokenizerJson.Parsed p = parse(noVocab);
            assertEquals("t.json: \"model.vocab\" is missing or empty",
                    assertThrows(TokenizerFormatException.class, () -> TokenizerJson.vocab(p, "t.json")).getMessage(), noVocab);
        }
        assertEquals("t.json: not a JSON object (empty or wrong kind of file)", assertThrows(TokenizerFormatException.class, () -> parse("[1]")).getMessage());
        assertFalse(assertThrows(TokenizerFormatException.class, () -> parse("{\"model\": {\"vocab\": {\"a\": 0,")).getMessage().isEmpty());
    }

    private static TokenizerJson.Parsed parse(String json) {
        return TokenizerJson.parse(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "t.json");
    }
}
