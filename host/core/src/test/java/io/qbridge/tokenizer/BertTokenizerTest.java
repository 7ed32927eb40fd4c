package io.qbridge.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BertTokenizerTest {
    private static final BertTokenizer BGE = BertTokenizerGoldenTest.load(BertTokenizerGoldenTest.BGE);

    /** A hand-made file: BertProcessing instead of a template, accents and case kept, 6-char words at most. */
    private static final String SMALL = """
            {"added_tokens": [{"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true}],
             "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                            "strip_accents": false, "lowercase": false},
             "pre_tokenizer": {"type": "BertPreTokenizer"},
             "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                       "max_input_chars_per_word": 6,
                       "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "un": 4, "##aff": 5, "##able": 6,
                                 "Café": 7, ",": 8, "cafe": 9, "$": 10, "x": 11, "##y": 12, "中": 13}}}
            """;

    private static BertTokenizer small() {
        return fromString(SMALL);
    }

    private static BertTokenizer fromString(String json) {
        return BertTokenizer.fromJson(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "test.json");
    }

    @Test
    void twoThousandWordsTruncateTo512EndingWithSep() {
        String text = "the quick brown fox jumps over the lazy dog . ".repeat(200); // 2,000 words
        BertTokenizer.Encoding e = BGE.encode(text, 512);
        assertEquals(512, e.length());
        assertTrue(e.truncated());
        assertEquals(BGE.id("[CLS]"), e.id(0));
        assertEquals(BGE.id("[SEP]"), e.id(511));
        // The kept text is exactly the first 510 ids of the untruncated tokenization.
        int[] all = BGE.tokenize(text);
        assertEquals(2000, all.length);
        assertArrayEquals(Arrays.copyOf(all, 510), Arrays.copyOfRange(e.ids(), 1, 511));
    }

    @Test
    void textThatExactlyFillsTheLimitIsNotTruncated() {
        String text = "dog ".repeat(510);
        BertTokenizer.Encoding e = BGE.encode(text, 512);
        assertEquals(512, e.length());
        assertFalse(e.truncated());
        assertTrue(BGE.encode(text + "dog", 512).truncated());
    }

    @Test
    void limitMustLeaveRoomForSpecialTokens() {
        assertEquals(2, BGE.specialTokenCount());
        assertArrayEquals(new int[] {101, 102}, BGE.encode("anything at all", 2).ids());
        assertTrue(BGE.encode("anything at all", 2).truncated());
        assertThrows(IllegalArgumentException.class, () -> BGE.encode("x", 1));
    }

    @Test
    void handMadeFileFollowsItsOwnConfiguration() {
        BertTokenizer t = small();
        assertEquals(new BertTokenizer.Normalization(true, true, false, false), t.normalization());
        // Case and accents kept (so "Cafe" is unknown); "unaffable" has 9 chars > 6 so it is [UNK] as a whole;
        // "$" is BERT punctuation although Unicode calls it a currency symbol.
        assertArrayEquals(new int[] {2, 7, 8, 1, 10, 11, 12, 1, 9, 3}, t.encode("Café,unaffable $xy Cafe cafe", 512).ids());
        // Within the 6-char limit the greedy longest match splits; an unmatched rest makes the whole word [UNK].
        assertArrayEquals(new int[] {4, 5}, t.tokenize("unaff"));
        assertArrayEquals(new int[] {1}, t.tokenize("unafx"));
        // Chinese characters are words of their own even when glued to other text.
        assertArrayEquals(new int[] {11, 13, 11}, t.tokenize("x中x"));
        // Added tokens in the text are matched literally before normalization.
        assertArrayEquals(new int[] {11, 3, 11}, t.tokenize("x[SEP]x"));
    }

    @Test
    void lookupsAndSizes() {
        assertEquals(30522, BGE.vocabSize());
        assertEquals("[UNK]", BGE.token(100));
        assertEquals(7592, BGE.id("hello"));
        assertEquals("hello", BGE.token(7592));
        assertEquals(-1, BGE.id("no-such-token-here"));
        assertThrows(IllegalArgumentException.class, () -> BGE.token(30522));
        assertEquals(14, small().vocabSize());
        assertEquals(java.util.OptionalInt.empty(), BGE.fileTruncationLength());
        assertEquals(java.util.OptionalInt.of(128), BertTokenizerGoldenTest.load(BertTokenizerGoldenTest.MINILM).fileTruncationLength());
    }

    @Test
    void malformedJsonNamesTheFile() {
        var e = assertThrows(TokenizerFormatException.class, () -> fromString("{\"model\": {\"type\": \"WordPiece\", "));
        assertTrue(e.getMessage().startsWith("test.json: malformed JSON"), e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> fromString(""));
        assertTrue(e.getMessage().startsWith("test.json: "), e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> BertTokenizer.fromJson(null, "/missing.json"));
        assertEquals("/missing.json: no such file or resource", e.getMessage());
    }

    @Test
    void missingOrWrongSectionsAreNamed() {
        var e = assertThrows(TokenizerFormatException.class, () -> fromString("{\"normalizer\": null}"));
        assertEquals("test.json: missing \"model\" section", e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> fromString(SMALL.replace("\"WordPiece\", \"unk", "\"BPE\", \"unk")));
        assertEquals("test.json: model type is BPE, BertTokenizer needs WordPiece", e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> fromString(SMALL.replace("\"unk_token\": \"[UNK]\"", "\"unk_token\": \"<unk>\"")));
        assertEquals("test.json: unk_token \"<unk>\" is not in the vocab", e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> fromString(SMALL.replace("\"un\": 4", "\"un\": 3")));
        assertTrue(e.getMessage().contains("both have id 3"), e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> fromString(SMALL.replace("BertPreTokenizer", "Whitespace")));
        assertEquals("test.json: pre_tokenizer is Whitespace, BertTokenizer implements only BertPreTokenizer", e.getMessage());
    }

    @Test
    void encodingIsAValue() {
        BertTokenizer.Encoding a = new BertTokenizer.Encoding(new int[] {1, 2}, false);
        int[] leaked = a.ids();
        leaked[0] = 99;
        assertEquals(new BertTokenizer.Encoding(new int[] {1, 2}, false), a);
        assertEquals(1, a.id(0));
    }
}
