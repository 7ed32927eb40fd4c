package io.qbridge.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * llama2.c's tokenizer: the {@code tokenizer.bin} format and the {@code encode()}/{@code decode()} of its
 * {@code run.c}, reproduced step for step so that prompts get the very ids the reference produces.
 *
 * <p>File format, little-endian: int32 {@code max_token_length}, then for each of {@code vocab_size} entries
 * float32 score, int32 byte length, the bytes. The vocab size is not in the file; it comes from the checkpoint
 * header. Pieces are raw bytes (sentencepiece's "▁" already replaced by a space); BOS is piece 1, EOS piece 2, and
 * pieces 3..258 are the byte pieces {@code <0x00>}..{@code <0xFF>}.
 *
 * <p>Pieces are compared as bytes, like run.c's {@code strcmp}: internally each is a String holding one char per
 * byte (ISO-8859-1), so concatenating two of them is concatenating their bytes.
 */
public final class Llama2cTokenizer implements TextTokenizer {
    public static final int BOS = 1;
    public static final int EOS = 2;
    /** run.c's byte fallback: byte {@code b} is piece {@code b + 3}, after {@code <unk>}, BOS and EOS. */
    private static final int BYTE_PIECE_OFFSET = 3;
    /** run.c's starting best score: a merge whose score is not above it is never made. */
    private static final float NO_MERGE_SCORE = -1e10f;

    private final String sourceName;
    private final String[] pieces; // one char per byte
    private final float[] scores;
    private final int maxTokenLength;
    private final Map<String, Integer> idByPiece;
    private final int dummyPrefixId;

    private Llama2cTokenizer(String sourceName, String[] pieces, float[] scores, int maxTokenLength) {
        this.sourceName = sourceName;
        this.pieces = pieces;
        this.scores = scores;
        this.maxTokenLength = maxTokenLength;
        this.idByPiece = new HashMap<>(pieces.length * 2);
        // run.c binary-searches a sorted copy, so which of two equal pieces it finds is unspecified; real files have
        // no duplicates, and here the lowest id wins.
        for (int i = pieces.length - 1; i >= 0; i--) idByPiece.put(pieces[i], i);
        this.dummyPrefixId = idByPiece.getOrDefault(" ", -1);
    }

    /** Reads {@code tokenizer.bin} for a checkpoint whose header says {@code vocabSize}. */
    public static Llama2cTokenizer load(Path file, int vocabSize) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) throw new TokenizerFormatException(file.toString(), "file of " + size + " bytes is too large for a tokenizer");
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // read until full
            }
            return parse(buf.flip(), vocabSize, file.toString());
        } catch (IOException e) {
            throw new TokenizerFormatException(file.toString(), "cannot read: " + e, e);
        }
    }

    /**
     * How many whole entries a tokenizer.bin holds (the format stores no count: llama2.c reads as many as the
     * checkpoint's vocab size says), or -1 if the bytes do not end exactly after an entry (corrupt, or not a
     * llama2.c tokenizer; {@link #parse} then names the problem).
     */
    public static int pieceCount(ByteBuffer data) {
        ByteBuffer in = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) return -1;
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0 || maxTokenLength > 4096) return -1;
        int n = 0;
        while (in.remaining() >= 8) {
            in.getFloat();
            int len = in.getInt();
            if (len < 0 || len > maxTokenLength || in.remaining() < len) return -1;
            in.position(in.position() + len);
            n++;
        }
        return in.hasRemaining() ? -1 : n;
    }

    /** Parses the file's bytes (from the buffer's position to its limit). */
    public static Llama2cTokenizer parse(ByteBuffer data, int vocabSize, String sourceName) {
        if (vocabSize < BYTE_PIECE_OFFSET + 256) {
            throw new IllegalArgumentException(sourceName + ": vocab size " + vocabSize + " is too small for a llama2.c tokenizer (needs the 3 control and 256 byte pieces)");
        }
        ByteBuffer in = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) throw new TokenizerFormatException(sourceName, "too short for a llama2.c tokenizer header (" + in.remaining() + " bytes)");
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0 || maxTokenLength > 4096) {
            throw new TokenizerFormatException(sourceName, "max_token_length " + maxTokenLength + " is not plausible: not a llama2.c tokenizer.bin");
        }
        String[] pieces = new String[vocabSize];
        float[] scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            if (in.remaining() < 8) {
                throw new TokenizerFormatException(sourceName, "ends inside entry " + i + " of " + vocabSize + " (at byte " + (in.position() + 4) + "): truncated, or the vocab size is wrong");
            }
            scores[i] = in.getFloat();
            int len = in.getInt();
            if (len < 0 || len > maxTokenLength) {
                throw new TokenizerFormatException(sourceName, "entry " + i + " has length " + len + ", outside 0.." + maxTokenLength + " (max_token_length): corrupt file");
            }
            if (in.remaining() < len) {
                throw new TokenizerFormatException(sourceName, "ends inside the " + len + " bytes of entry " + i + " of " + vocabSize + ": truncated");
            }
            byte[] bytes = new byte[len];
            in.get(bytes);
            pieces[i] = new String(bytes, StandardCharsets.ISO_8859_1);
        }
        // run.c's encode() puts the " " piece before any non-empty text (sentencepiece's dummy prefix); a vocab
        // without one cannot encode a prompt (run.c would emit id -1), so it is refused here, at load, not mid-run.
        if (!java.util.Arrays.asList(pieces).contains(" ")) {
            throw new TokenizerFormatException(sourceName, "has no \" \" piece, which llama2.c's encoding puts before every prompt: not a usable llama2.c tokenizer.bin");
        }
        return new Llama2cTokenizer(sourceName, pieces, scores, maxTokenLength);
    }

    public String sourceName() {
        return sourceName;
    }

    public int maxTokenLength() {
        return maxTokenLength;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    /** The piece's bytes (a space where sentencepiece has "▁"). */
    public byte[] piece(int id) {
        checkId(id);
        return pieces[id].getBytes(StandardCharsets.ISO_8859_1);
    }

    public float score(int id) {
        checkId(id);
        return scores[id];
    }

    /** run.c's {@code encode()}: see the steps in the body. */
    @Override
    public int[] encode(String text, boolean bos, boolean eos) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        // run.c reads a C string: the text ends at the first NUL.
        int n = 0;
        while (n < utf8.length && utf8[n] != 0) n++;
        int[] tokens = new int[n + 3];
        int count = 0;
        if (bos) tokens[count++] = BOS;
        // add_dummy_prefix: sentencepiece puts a space before non-empty text.
        if (n > 0) {
            tokens[count++] = dummyPrefixId;
        }
        // One code point at a time (a lead byte and at most 3 continuation bytes): its piece if there is one,
        // otherwise one byte piece per byte.
        StringBuilder codePoint = new StringBuilder(4);
        for (int i = 0; i < n; i++) {
            byte c = utf8[i];
            if ((c & 0xC0) != 0x80) codePoint.setLength(0);
            codePoint.append((char) (c & 0xFF));
            boolean nextIsContinuation = i + 1 < n && (utf8[i + 1] & 0xC0) == 0x80;
            if (nextIsContinuation && codePoint.length() < 4) continue;
            Integer id = idByPiece.get(codePoint.toString());
            if (id != null) {
                tokens[count++] = id;
            } else {
                for (int k = 0; k < codePoint.length(); k++) tokens[count++] = byteToken(codePoint.charAt(k));
            }
            codePoint.setLength(0); // as run.c: stray continuation bytes start afresh
        }
        count = mergeByScore(tokens, count);
        if (eos) {
            if (count == tokens.length) tokens = Arrays.copyOf(tokens, count + 1);
            tokens[count++] = EOS;
        }
        return Arrays.copyOf(tokens, count);
    }

    private int byteToken(char b) {
        int id = b + BYTE_PIECE_OFFSET;
        if (id >= pieces.length) throw new IllegalStateException(sourceName + ": no byte piece for byte " + (int) b);
        return id;
    }

    /**
     * Repeatedly replaces the adjacent pair whose concatenation is a piece with the highest score (the first such
     * pair on ties), until no pair concatenates to a piece. BOS takes part like any piece, as in run.c. Each pair's
     * candidate is cached and only the two pairs next to a merge are looked up again; the choice made each round
     * is the same as run.c's full rescan.
     */
    private int mergeByScore(int[] tokens, int count) {
        if (count < 2) return count;
        int[] pairId = new int[count - 1];
        for (int i = 0; i < count - 1; i++) pairId[i] = pairPiece(tokens[i], tokens[i + 1]);
        while (true) {
            float best = NO_MERGE_SCORE;
            int bestIdx = -1;
            for (int i = 0; i < count - 1; i++) {
                int id = pairId[i];
                if (id >= 0 && scores[id] > best) {
                    best = scores[id];
                    bestIdx = i;
                }
            }
            if (bestIdx < 0) return count;
            tokens[bestIdx] = pairId[bestIdx];
            System.arraycopy(tokens, bestIdx + 2, tokens, bestIdx + 1, count - bestIdx - 2);
            System.arraycopy(pairId, bestIdx + 1, pairId, bestIdx, count - bestIdx - 2);
            count--;
            if (bestIdx > 0) pairId[bestIdx - 1] = pairPiece(tokens[bestIdx - 1], tokens[bestIdx]);
            if (bestIdx < count - 1) pairId[bestIdx] = pairPiece(tokens[bestIdx], tokens[bestIdx + 1]);
        }
    }

    private int pairPiece(int left, int right) {
        String a = pieces[left], b = pieces[right];
        // run.c's buffer holds 2 * max_token_length bytes, and no longer piece exists anyway.
        if (a.length() + b.length() > maxTokenLength) return -1;
        Integer id = idByPiece.get(a.concat(b));
        return id == null ? -1 : id;
    }

    /**
     * run.c's {@code decode()}: the piece's bytes, without its leading space right after BOS (sentencepiece's
     * decoder drops the dummy prefix), and a byte piece {@code <0xXX>} as that one raw byte. Unlike run.c this
     * returns text, so a lone byte of a multi-byte character shows as U+FFFD; stream with {@link #decodeBytes}.
     */
    public String decode(int prevToken, int token) {
        return new String(rawPiece(prevToken, token), StandardCharsets.UTF_8);
    }

    /** run.c's {@code decode()} as bytes; BOS and EOS give none (their pieces are markers, not text). */
    @Override
    public byte[] decodeBytes(int prevToken, int token) {
        if (token == BOS || token == EOS) {
            checkId(token);
            return new byte[0];
        }
        return rawPiece(prevToken, token);
    }

    private byte[] rawPiece(int prevToken, int token) {
        checkId(token);
        String piece = pieces[token];
        if (prevToken == BOS && !piece.isEmpty() && piece.charAt(0) == ' ') piece = piece.substring(1);
        int b = bytePieceValue(piece);
        if (b >= 0) return new byte[] {(byte) b};
        return piece.getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * The byte of a {@code <0xXX>} piece, or -1. run.c uses {@code sscanf(piece, "<0x%02hhX>")}, which would also
     * accept a malformed tail; the real vocabularies hold only the exact six-character form, which is all we accept.
     */
    static int bytePieceValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        int hi = Character.digit(piece.charAt(3), 16), lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = -1;
        for (int id : ids) {
            out.writeBytes(decodeBytes(prev, id));
            prev = id;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) throw new IllegalArgumentException("token id " + id + " outside 0.." + (pieces.length - 1) + " of " + sourceName);
    }
}
