package io.qbridge.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** llama2.c's tokenizer on small hand-made tokenizer.bin files whose merges can be worked out by hand. */
class Llama2cTokenizerTest {
    @TempDir
    Path dir;

    /** Writes a tokenizer.bin: {@code <unk>}, BOS, EOS, the 256 byte pieces, then {@code extra} (piece to score). */
    static byte[] tokenizerBin(Map<String, Float> extra) {
        List<byte[]> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        pieces.add("<unk>".getBytes(StandardCharsets.UTF_8));
        pieces.add("\n<s>\n".getBytes(StandardCharsets.UTF_8));
        pieces.add("\n</s>\n".getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < 3; i++) scores.add(0f);
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b).getBytes(StandardCharsets.UTF_8));
            scores.add(0f);
        }
        extra.forEach((p, s) -> {
            pieces.add(p.getBytes(StandardCharsets.UTF_8));
            scores.add(s);
        });
        int max = pieces.stream().mapToInt(p -> p.length).max().orElseThrow();
        ByteBuffer buf = ByteBuffer.allocate(4 + pieces.stream().mapToInt(p -> 8 + p.length).sum()).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(max);
        for (int i = 0; i < pieces.size(); i++) buf.putFloat(scores.get(i)).putInt(pieces.get(i).length).put(pieces.get(i));
        return buf.array();
    }

    private Llama2cTokenizer write(byte[] bin, int vocabSize) throws IOException {
        Path f = dir.resolve("tokenizer.bin");
        Files.write(f, bin);
        return Llama2cTokenizer.load(f, vocabSize);
    }

    /** Ids 259.. in insertion order. */
    private static Map<String, Float> pieces(Object... pieceScore) {
        Map<String, Float> m = new LinkedHashMap<>();
        for (int i = 0; i < pieceScore.length; i += 2) m.put((String) pieceScore[i], ((Number) pieceScore[i + 1]).floatValue());
        return m;
    }

    @Test
    void mergesHighestScoringPairFirst() throws IOException {
        // 259 " ", 260 a, 261 b, 262 ab(-5), 263 ba(-1), 264 " a"(-3), 265 aba(-2)
        Map<String, Float> v = pieces(" ", -1e9, "a", -10, "b", -10, "ab", -5, "ba", -1, " a", -3, "aba", -2);
        Llama2cTokenizer t = write(tokenizerBin(v), 259 + v.size());
        // [BOS, " ", a, b, a]: "ba" (-1) beats " a" (-3) and "ab" (-5); then "aba" (-2) beats " a" (-3).
        assertArrayEquals(new int[] {1, 259, 265}, t.encode("aba", true, false));
        assertArrayEquals(new int[] {259, 265, 2}, t.encode("aba", false, true));
        assertEquals(" aba", t.decode(new int[] {259, 265}));
        assertEquals("aba", t.decode(new int[] {1, 259, 265, 2}));
    }

    @Test
    void tiesGoToTheFirstPair() throws IOException {
        Map<String, Float> v = pieces(" ", -1e9, "a", -10, "b", -10, "ab", -1, "ba", -1);
        Llama2cTokenizer t = write(tokenizerBin(v), 259 + v.size());
        assertArrayEquals(new int[] {259, 262, 260}, t.encode("aba", false, false));
        assertArrayEquals(new int[] {259, 262, 262}, t.encode("abab", false, false));
    }

    @Test
    void mergesScoringAtOrBelowMinusTenToTheTenAreNeverMade() throws IOException {
        Map<String, Float> v = pieces(" ", -1e9, "a", -10, "b", -10, "ab", -2e10);
        Llama2cTokenizer t = write(tokenizerBin(v), 259 + v.size());
        assertArrayEquals(new int[] {259, 260, 261}, t.encode("ab", false, false));
    }

    @Test
    void unknownCodePointsFallBackToBytePieces() throws IOException {
        Map<String, Float> v = pieces(" ", -1e9, "a", -10, "ñ", -10);
        Llama2cTokenizer t = write(tokenizerBin(v), 259 + v.size());
        // é = C3 A9 is not a piece: byte + 3 each. ñ is a piece: one id. 😀 = F0 9F 98 80.
        assertArrayEquals(new int[] {1, 259, 0xC3 + 3, 0xA9 + 3, 261, 260}, t.encode("éña", true, false));
        assertArrayEquals(new int[] {259, 0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3}, t.encode("😀", false, false));
        assertEquals("éña", t.decode(t.encode("éña", true, true)));
        // Empty text: no dummy prefix.
        assertArrayEquals(new int[] {1, 2}, t.encode("", true, true));
        assertArrayEquals(new int[0], t.encode("", false, false));
    }

    @Test
    void decodeFollowsRunC() throws IOException {
        Map<String, Float> v = pieces(" ", -1e9, " hello", -10);
        Llama2cTokenizer t = write(tokenizerBin(v), 259 + v.size());
        assertEquals("hello", t.decode(1, 260)); // leading space dropped after BOS
        assertEquals(" hello", t.decode(5, 260));
        assertArrayEquals(new byte[] {(byte) 0xC3}, t.decodeBytes(260, 0xC3 + 3));
        assertArrayEquals(new byte[0], t.decodeBytes(260, 2));
        // Streaming: the two bytes of é arrive in two tokens and print as one character, once complete.
        Utf8StreamDecoder stream = new Utf8StreamDecoder();
        StringBuilder printed = new StringBuilder();
        int prev = 1;
        List<String> chunks = new ArrayList<>();
        for (int id : new int[] {260, 0xC3 + 3, 0xA9 + 3, 260}) {
            String s = stream.feed(t.decodeBytes(prev, id));
            chunks.add(s);
            printed.append(s);
            prev = id;
        }
        printed.append(stream.finish());
        assertEquals(List.of("hello", "", "é", " hello"), chunks);
        assertEquals("helloé hello", printed.toString());
    }

    @Test
    void truncatedFileIsReportedWithTheEntry() throws IOException {
        Map<String, Float> v = pieces(" ", -1e9, "hello", -10);
        byte[] bin = tokenizerBin(v);
        var e = assertThrows(TokenizerFormatException.class, () -> write(Arrays.copyOf(bin, bin.length - 3), 261));
        assertTrue(e.getMessage().endsWith("ends inside the 5 bytes of entry 260 of 261: truncated"), e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> write(bin, 262));
        assertTrue(e.getMessage().contains("ends inside entry 261 of 262"), e.getMessage());
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer.bin").toString()), e.getMessage());
        e = assertThrows(TokenizerFormatException.class, () -> write(new byte[2], 261));
        assertTrue(e.getMessage().contains("too short"), e.getMessage());
    }

    @Test
    void corruptLengthsAreReported() throws IOException {
        byte[] bin = tokenizerBin(pieces(" ", -1e9));
        ByteBuffer b = ByteBuffer.wrap(bin.clone()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(4 + 4, -7); // length of entry 0
        var e = assertThrows(TokenizerFormatException.class, () -> write(b.array(), 260));
        assertTrue(e.getMessage().contains("entry 0 has length -7"), e.getMessage());
        b.putInt(4 + 4, 1 << 30);
        e = assertThrows(TokenizerFormatException.class, () -> write(b.array(), 260));
        assertTrue(e.getMessage().contains("entry 0 has length 1073741824"), e.getMessage());
        ByteBuffer h = ByteBuffer.wrap(bin.clone()).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, -1);
        e = assertThrows(TokenizerFormatException.class, () -> write(h.array(), 260));
        assertTrue(e.getMessage().contains("max_token_length -1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> write(bin, 10));
    }

    @Test
    void aVocabWithoutASpacePieceIsRefusedWhenItIsRead() throws IOException {
        // run.c's encode() puts " " before every non-empty prompt; without it a prompt could not be encoded at all
        byte[] bin = tokenizerBin(pieces("a", -10, "b", -10));
        var e = assertThrows(TokenizerFormatException.class, () -> write(bin, 261));
        assertEquals(dir.resolve("tokenizer.bin") + ": has no \" \" piece, which llama2.c's encoding puts before every prompt: not a usable llama2.c tokenizer.bin",
                e.getMessage());
        assertEquals(261, write(tokenizerBin(pieces("a", -10, " ", -1e9)), 261).vocabSize());
    }
}
