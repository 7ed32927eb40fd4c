package io.qbridge.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real LLaMA-2 vocabulary of llama2.c (shared/golden/llama2c/tokenizer.bin) against llama2.c's own run.c:
 * the prompt ids of the synth-a run, and {@code llama2c-golden.json}, in which run.c's {@code encode()} and
 * {@code decode()} (compiled with gcc by {@code tests/tools/tokenizer/gen-golden.mjs llama2c}) processed 80 inputs.
 * Skipped, with the reason printed, where the shared folder is absent.
 */
class Llama2cTokenizerGoldenTest {
    private static final String SHARED = System.getProperty("qbridge.shared");
    private static Path golden;
    private static Llama2cTokenizer tokenizer;
    private static String sha256;

    @BeforeAll
    static void load() {
        golden = SHARED == null ? null : Path.of(SHARED, "golden", "llama2c");
        if (golden != null && Files.isRegularFile(golden.resolve("tokenizer.bin"))) {
            tokenizer = Llama2cTokenizer.load(golden.resolve("tokenizer.bin"), 32000);
        } else {
            System.out.println("SKIP Llama2cTokenizerGoldenTest: no golden/llama2c/tokenizer.bin under qbridge.shared=" + SHARED);
        }
    }

    @BeforeEach
    void requireSharedFiles() {
        assumeTrue(tokenizer != null, "shared golden files absent (qbridge.shared=" + SHARED + ")");
    }

    static Stream<Arguments> runCCases() throws IOException {
        JsonNode golden;
        try (InputStream in = Llama2cTokenizerGoldenTest.class.getResourceAsStream("/tokenizer/llama2c-golden.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : golden.get("cases")) {
            int[] ids = new int[c.get("ids").size()];
            for (int i = 0; i < ids.length; i++) ids[i] = c.get("ids").get(i).asInt();
            out.add(Arguments.of(c.get("text").asText(), ids, HexFormat.of().parseHex(c.get("decodedHex").asText()),
                    golden.get("tokenizerSha256").asText()));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "run.c case {index}")
    @MethodSource("runCCases")
    void encodeAndDecodeEqualRunC(String text, int[] ids, byte[] decoded, String tokenizerSha256) throws Exception {
        if (sha256 == null) {
            sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(golden.resolve("tokenizer.bin"))));
        }
        assertEquals(tokenizerSha256, sha256, "shared tokenizer.bin is not the one the goldens were made with");
        assertArrayEquals(ids, tokenizer.encode(text, true, false), () -> "ids of " + text);
        ByteArrayOutputStream ours = new ByteArrayOutputStream();
        for (int i = 1; i < ids.length; i++) {
            // Our decodeBytes gives BOS/EOS no text where run.c prints their pieces; no case has them after position 0.
            assertTrue(ids[i] > 2);
            ours.writeBytes(tokenizer.decodeBytes(ids[i - 1], ids[i]));
        }
        assertArrayEquals(decoded, ours.toByteArray(), () -> "decoded bytes of " + text);
    }

    @Test
    void promptIdsEqualRunC() throws IOException {
        int[] expected = Files.readAllLines(golden.resolve("synth-a.prompt_ids.txt")).stream()
                .filter(s -> !s.isBlank()).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
        String prompt = "Once upon a time, in a quiet village";
        assertArrayEquals(expected, tokenizer.encode(prompt, true, false));
        assertEquals(prompt, tokenizer.decode(expected));
    }

    @Test
    void realVocabularyBasics() {
        assertEquals(27, tokenizer.maxTokenLength());
        assertEquals(" t", new String(tokenizer.piece(260)));
        // An emoji that is no piece: the dummy prefix " " (29871) and its four UTF-8 bytes + 3.
        assertArrayEquals(new int[] {1, 29871, 243, 162, 155, 131}, tokenizer.encode("😀", true, false));
        assertEquals("😀 and ünïcödé", tokenizer.decode(tokenizer.encode("😀 and ünïcödé", true, true)));
    }
}
