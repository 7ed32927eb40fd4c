package io.qbridge.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link JsonTrees} builds the tree {@code ObjectMapper.readTree} builds, node for node, with and without exact decimals. */
class JsonTreesTest {
    private static final ObjectMapper DOUBLES = new ObjectMapper();
    private static final ObjectMapper DECIMALS = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    @ParameterizedTest
    @ValueSource(strings = {
            "{}", "[]", "0", "\"text\"", "true", "null",
            "{\"a\": 1, \"b\": [1, 2.5, -3e-7, 1.50, 0.0, -0.0, 1E300], \"c\": {\"d\": null, \"e\": false, \"f\": \"\\u00e9\\n\\\"q\\\"\"}}",
            "{\"ints\": [2147483647, 2147483648, -2147483649, 9223372036854775807, 9223372036854775808, -99999999999999999999999]}",
            "{\"k\": 1, \"k\": [2], \"k\": {\"last\": true}}",
            "{\"rope_theta\": 10000.0, \"norm_eps\": 1.0E-5, \"f\": 3.4028235E38, \"tiny\": 1.4E-45}",
            "[[[[]]], {\"a\": [{}, [], \"\"]}]",
            "{\"a\": 1} trailing content is ignored",
            "", "   "})
    void buildsTheTreeObjectMapperBuilds(String json) throws Exception {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        assertEquals(DOUBLES.readTree(bytes), JsonTrees.parse(bytes, false), json);
        assertEquals(DECIMALS.readTree(bytes), JsonTrees.parse(bytes, true), json);
    }

    @Test
    void randomDocumentsGiveTheSameTrees() throws Exception {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 300; i++) {
            byte[] bytes = value(rnd, 0).getBytes(StandardCharsets.UTF_8);
            assertEquals(DOUBLES.readTree(bytes), JsonTrees.parse(bytes, false), new String(bytes, StandardCharsets.UTF_8));
            assertEquals(DECIMALS.readTree(bytes), JsonTrees.parse(bytes, true), new String(bytes, StandardCharsets.UTF_8));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"{", "{\"a\": }", "[1, 2", "{\"a\" 1}", "nul", "{\"a\": 1,}", "[01]"})
    void malformedJsonThrowsTheParsersException(String json) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        assertThrows(JacksonException.class, () -> DOUBLES.readTree(bytes), "ObjectMapper refuses it too: " + json);
        assertThrows(JacksonException.class, () -> JsonTrees.parse(bytes, false), json);
    }

    @Test
    void nestingPastTheParsersLimitIsRefusedNotAStackOverflow() {
        byte[] bytes = "[".repeat(100_000).getBytes(StandardCharsets.UTF_8);
        JacksonException e = assertThrows(JacksonException.class, () -> JsonTrees.parse(bytes, false));
        assertTrue(e.getMessage().contains("nesting"), e.getMessage());
    }

    private static String value(SplittableRandom rnd, int depth) {
        int kind = rnd.nextInt(depth > 3 ? 6 : 8);
        return switch (kind) {
            case 0 -> Integer.toString(rnd.nextInt());
            case 1 -> Long.toString(rnd.nextLong());
            case 2 -> Double.toString(rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-30, 30)));
            case 3 -> Float.toString((float) rnd.nextGaussian());
            case 4 -> "\"s" + rnd.nextInt(100) + (rnd.nextBoolean() ? "\\t\\u0041" : "") + "\"";
            case 5 -> rnd.nextBoolean() ? "true" : rnd.nextBoolean() ? "false" : "null";
            case 6 -> {
                StringBuilder b = new StringBuilder("[");
                for (int i = 0, n = rnd.nextInt(4); i < n; i++) b.append(i > 0 ? "," : "").append(value(rnd, depth + 1));
                yield b.append(']').toString();
            }
            default -> {
                StringBuilder b = new StringBuilder("{");
                for (int i = 0, n = rnd.nextInt(4); i < n; i++)
                    b.append(i > 0 ? "," : "").append("\"k").append(rnd.nextInt(3)).append("\":").append(value(rnd, depth + 1));
                yield b.append('}').toString();
            }
        };
    }
}
