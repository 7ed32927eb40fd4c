package io.qbridge.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real LLaMA-2 vocabulary of llama2.c (shared/golden/llama2c/tokenizer.bin) against the prompt ids that run.c's
 * {@code encode()} produced. Skipped, with the reason printed, where the shared folder is absent.
 */
class Llama2cTokenizerGoldenTest {
    private static final String SHARED = System.getProperty("qbridge.shared");
    private static Path golden;
    private static Llama2cTokenizer tokenizer;

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
