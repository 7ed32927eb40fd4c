package io.qbridge.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** BpeTokenizer on small hand-made tokenizer.json files whose results are worked out by hand in the comments. */
class BpeTokenizerTest {
    /** Sentencepiece-style: "▁" for spaces, two byte tokens for é, merges by rank (not left to right). */
    private static final String SENTENCEPIECE = """
            {"added_tokens": [{"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
             "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
             "pre_tokenizer": null,
             "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                {"Sequence": {"id": "A", "type_id": 0}}],
                                "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
             "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                         {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
             "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
                       "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0xC3>": 3, "<0xA9>": 4, "▁": 5, "a": 6, "b": 7,
                                 "c": 8, "▁a": 9, "ab": 10, "▁ab": 11, "bc": 12},
                       "merges": MERGES}}
            """;
    private static final String STRING_MERGES = "[\"b c\", \"▁ a\", \"a b\", \"▁a b\"]";
    private static final String PAIR_MERGES = "[[\"b\", \"c\"], [\"▁\", \"a\"], [\"a\", \"b\"], [\"▁a\", \"b\"]]";

    /** GPT-2 style byte-level: Ġ is the space byte, Ċ the newline byte. */
    private static final String BYTE_LEVEL = """
            {"added_tokens": [{"id": 9, "content": "<|endoftext|>", "special": true}],
             "normalizer": null,
             "pre_tokenizer": PRE,
             "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "unk_token": null, "ignore_merges": IGNORE,
                       "vocab": {"h": 0, "i": 1, "Ġ": 2, "!": 3, "hi": 4, "Ġh": 5, "Ġhi": 6, "Ċ": 7, "ÃĤ": 8,
                                 "<|endoftext|>": 9, "Ã": 10, "¤": 11},
                       "merges": ["h i", "Ġ h", "Ġh i"]}}
            """;
    private static final String GPT2_PRE = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}";
    /** LLaMA 3's arrangement: the file's own Split regex, then ByteLevel without its regex. */
    private static final String LLAMA3_PRE = """
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"},
               "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
            """;

    private static BpeTokenizer load(String json) {
        return BpeTokenizer.fromJson(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "test.json");
    }

    private static BpeTokenizer sentencepiece() {
        return load(SENTENCEPIECE.replace("MERGES", STRING_MERGES));
    }

    private static BpeTokenizer byteLevel(String pre, boolean ignoreMerges) {
        return load(BYTE_LEVEL.replace("PRE", pre).replace("IGNORE", Boolean.toString(ignoreMerges)));
    }

    @Test
    void mergesGoByRankNotPosition() {
        BpeTokenizer t = sentencepiece();
        // "▁abc": pairs ▁a (rank 1), ab (2), bc (0): bc first, then ▁a; "▁a"+"bc" is no merge.
        assertArrayEquals(new int[] {9, 12}, t.encode("abc", false));
        // "▁ab": ▁a (1) before ab (2), then "▁a b" (3).
        assertArrayEquals(new int[] {1, 11}, t.encode("ab", true));
        // The same merges written as pairs give the same result.
        BpeTokenizer pairs = load(SENTENCEPIECE.replace("MERGES", PAIR_MERGES));
        assertArrayEquals(new int[] {9, 12}, pairs.encode("abc", false));
        assertArrayEquals(new int[] {11, 5, 11}, pairs.encode("ab  ab", false));
    }

    @Test
    void byteFallbackUnknownsAndAddedTokens() {
        BpeTokenizer t = sentencepiece();
        assertArrayEquals(new int[] {5, 3, 4}, t.encode("é", false)); // é = C3 A9, no piece of its own
        assertArrayEquals(new int[] {5, 0}, t.encode("zz", false)); // no byte token for z: one fused <unk>
        assertArrayEquals(new int[] {5, 0, 6, 0}, t.encode("zaz", false));
        // Added tokens are cut out first; each run around them gets its own "▁" (Hugging Face's legacy behaviour).
        assertArrayEquals(new int[] {9, 1, 5, 7}, t.encode("a<s>b", false));
        assertArrayEquals(new int[0], t.encode("", false));
        assertEquals(1, t.bosId());
        assertEquals(2, t.eosId());
        assertArrayEquals(new int[] {1, 9, 2}, t.encode("a", true, true));
    }

    @Test
    void sentencepieceDecoding() {
        BpeTokenizer t = sentencepiece();
        assertEquals("abc", t.decode(new int[] {9, 12}));
        assertEquals("abc ab", t.decode(new int[] {1, 9, 12, 11, 2}));
        assertEquals("é", t.decode(new int[] {5, 3, 4}).strip());
        assertArrayEquals(new byte[] {(byte) 0xC3}, t.decodeBytes(9, 3));
        assertArrayEquals(" ab".getBytes(StandardCharsets.UTF_8), t.decodeBytes(9, 11));
        assertArrayEquals("ab".getBytes(StandardCharsets.UTF_8), t.decodeBytes(1, 11)); // after BOS: space dropped
        // Streaming the byte tokens of é: nothing printable until the second byte.
        Utf8StreamDecoder s = new Utf8StreamDecoder();
        assertEquals("", s.feed(t.decodeBytes(5, 3)));
        assertEquals("é", s.feed(t.decodeBytes(3, 4)));
        assertEquals("", s.finish());
    }

    @Test
    void byteLevelGpt2Regex() {
        BpeTokenizer t = byteLevel(GPT2_PRE, false);
        assertTrue(t.isByteLevel());
        // Split "hi", " hi", "!": " hi" is Ġ h i; "h i" (rank 0) beats "Ġ h" (rank 1), and "Ġ hi" is no merge.
        assertArrayEquals(new int[] {4, 2, 4, 3}, t.encode("hi hi!", false));
        // ignore_merges: a word that is a vocab entry is taken whole.
        assertArrayEquals(new int[] {4, 6, 3}, byteLevel(GPT2_PRE, true).encode("hi hi!", false));
        // Bytes map to GPT-2's alphabet: newline is Ċ; U+00E4 ä is C3 A4, i.e. "Ã" then "¤".
        assertArrayEquals(new int[] {4, 7, 10, 11}, t.encode("hi\nä", false));
        assertArrayEquals(new int[] {4, 9, 4}, t.encode("hi<|endoftext|>hi", false));
        assertEquals("hi hi!\nä", t.decode(new int[] {4, 2, 4, 3, 7, 10, 11, 9}));
        assertEquals(9, t.bosId()); // GPT-2 uses <|endoftext|> for both
        assertEquals(9, t.eosId());
    }

    @Test
    void byteLevelWithTheFilesSplitRegex() {
        BpeTokenizer t = byteLevel(LLAMA3_PRE, true);
        // LLaMA 3's regex glues one leading non-letter to a letter run: "hi", " hi", "!", "\n".
        assertArrayEquals(new int[] {4, 6, 3, 7}, t.encode("hi hi!\n", false));
        assertEquals(java.util.List.of("hi", "Ġhi", "!Ċ"), t.preTokenize("hi hi!\n", true));
    }

    @Test
    void metaspacePreTokenizer() {
        String json = SENTENCEPIECE.replace("MERGES", STRING_MERGES)
                .replaceFirst("(?s)\"normalizer\": \\{.*?]},", "\"normalizer\": null,")
                .replace("\"pre_tokenizer\": null", "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": true}");
        BpeTokenizer t = load(json);
        assertEquals(java.util.List.of("▁ab", "▁ab"), t.preTokenize("ab ab", true));
        assertArrayEquals(new int[] {11, 11}, t.encode("ab ab", false));
        // "first": only the run at the start of the text gets the prefix, not the one after an added token.
        assertArrayEquals(new int[] {11, 1, 10}, t.encode("ab<s>ab", false));
    }

    @Test
    void errorsNameTheFileAndTheProblem() {
        var e = assertThrows(TokenizerFormatException.class, () -> load("{\"model\": "));
        assertTrue(e.getMessage().startsWith("test.json: malformed JSON"), e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> load("{\"version\": \"1.0\"}"));
        assertEquals("test.json: missing \"model\" section", e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> load(SENTENCEPIECE.replace("MERGES", STRING_MERGES).replace("\"BPE\"", "\"Unigram\"")));
        assertEquals("test.json: model type is Unigram, BpeTokenizer needs BPE", e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> load(SENTENCEPIECE.replace("MERGES", "[\"b c\", \"x y\"]")));
        assertEquals("test.json: merge 1 (x y) uses \"x\", which is not in the vocab", e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> load(SENTENCEPIECE.replace("MERGES", "[\"b c d\"]")));
        assertTrue(e.getMessage().contains("merge 0 \"b c d\" is not two tokens"), e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> byteLevel("{\"type\": \"Whitespace\"}", false));
        assertEquals("test.json: pre_tokenizer Whitespace is not supported by BpeTokenizer", e.getMessage());
        e = assertThrows(TokenizerFormatException.class,
                () -> byteLevel("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\"}", false));
        assertTrue(e.getMessage().startsWith("test.json: Split regex does not compile"), e.getMessage());
        BpeTokenizer noSpecials = byteLevel(GPT2_PRE, false);
        assertFalse(noSpecials.encode("hi", false).length == 0);
        assertThrows(IllegalArgumentException.class, () -> noSpecials.decode(new int[] {99}));
    }

    @Test
    void textTokenizerIsClosedOverTheTwoFormats() {
        TextTokenizer t = sentencepiece();
        String kind = switch (t) {
            case Llama2cTokenizer l -> "llama2.c";
            case BpeTokenizer b -> "bpe";
        };
        assertEquals("bpe", kind);
    }
}
