package io.qbridge.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hugging Face {@code tokenizer.json} with a {@code BPE} model, in the two flavours LLaMA-family checkpoints use:
 *
 * <ul>
 *   <li>sentencepiece-style (LLaMA 1/2, TinyLlama, Mistral): spaces become "▁" (a {@code Prepend} +
 *       {@code Replace} normalizer, or a {@code Metaspace} pre-tokenizer), characters missing from the vocab
 *       become {@code <0xXX>} byte tokens ({@code byte_fallback}), merges by rank;
 *   <li>byte-level (GPT-2, LLaMA 3): the text is split by the file's regex, each piece's UTF-8 bytes are mapped
 *       to GPT-2's printable alphabet ({@link ByteLevelAlphabet}), merges by rank.
 * </ul>
 *
 * <p>The pipeline is the Rust {@code tokenizers} crate's: added tokens are cut out of the raw text first; each
 * remaining run is normalized, pre-tokenized and BPE-merged on its own. Merging follows the crate exactly: always
 * the pair with the lowest merge rank, the leftmost on ties. Only the components these checkpoints use are
 * implemented; any other one is rejected when the file is loaded ({@link BpeTokenizerFile}), naming it.
 */
public final class BpeTokenizer implements TextTokenizer {

    /** One step of the file's normalizer (closed: anything else is rejected at load). */
    sealed interface NormalizerStep {}

    record Prepend(String prefix) implements NormalizerStep {}

    record Replace(String pattern, String content) implements NormalizerStep {}

    record UnicodeForm(Normalizer.Form form) implements NormalizerStep {}

    /** One step of the file's pre-tokenizer (closed: anything else is rejected at load). */
    sealed interface PreTokenizerStep {}

    /** A regex or literal split; {@code behavior} is how matches relate to the text between them. */
    record Split(Pattern pattern, SplitBehavior behavior) implements PreTokenizerStep {}

    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizerStep {}

    record Metaspace(String replacement, PrependScheme prependScheme, boolean split) implements PreTokenizerStep {}

    enum SplitBehavior { ISOLATED, REMOVED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT }

    enum PrependScheme { ALWAYS, FIRST, NEVER }

    /** How ids turn back into bytes: GPT-2's alphabet, or pieces with a space marker and byte tokens. */
    record DecoderConfig(boolean byteLevel, String spaceMarker, boolean byteFallback, int stripLeadingSpaces) {}

    /** GPT-2's split, used by a {@code ByteLevel} pre-tokenizer with {@code use_regex: true}. */
    private static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", Pattern.UNICODE_CHARACTER_CLASS);

    private final String sourceName;
    private final Map<String, Integer> vocab;
    private final String[] tokenById;
    /** (left id, right id) packed in a long, to (rank, merged id) packed in a long. */
    private final Map<Long, Long> merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final String subwordPrefix;
    private final String wordSuffix;
    private final int[] byteTokenIds; // byte -> id of <0xXX>, or -1
    private final List<NormalizerStep> normalizer;
    private final List<PreTokenizerStep> preTokenizer;
    private final AddedTokenSplitter addedTokens;
    private final boolean[] isSpecial;
    private final DecoderConfig decoder;
    private final int bosId;
    private final int eosId;

    private BpeTokenizer(Tables b) {
        this.sourceName = b.sourceName;
        this.vocab = b.vocab;
        this.tokenById = b.tokenById;
        this.merges = b.merges;
        this.unkId = b.unkId;
        this.fuseUnk = b.fuseUnk;
        this.byteFallback = b.byteFallback;
        this.ignoreMerges = b.ignoreMerges;
        this.subwordPrefix = b.subwordPrefix;
        this.wordSuffix = b.wordSuffix;
        this.byteTokenIds = b.byteTokenIds;
        this.normalizer = List.copyOf(b.normalizer);
        this.preTokenizer = List.copyOf(b.preTokenizer);
        this.addedTokens = b.addedTokens;
        this.isSpecial = b.isSpecial;
        this.decoder = b.decoder;
        this.bosId = b.bosId;
        this.eosId = b.eosId;
    }

    /** What {@link BpeTokenizerFile} reads out of a {@code tokenizer.json}: everything encoding and decoding use. */
    static final class Tables {
        String sourceName;
        Map<String, Integer> vocab;
        String[] tokenById;
        Map<Long, Long> merges;
        int unkId = -1;
        boolean fuseUnk, byteFallback, ignoreMerges;
        String subwordPrefix, wordSuffix;
        int[] byteTokenIds;
        List<NormalizerStep> normalizer = new ArrayList<>();
        List<PreTokenizerStep> preTokenizer = new ArrayList<>();
        AddedTokenSplitter addedTokens;
        boolean[] isSpecial;
        DecoderConfig decoder;
        int bosId = -1, eosId = -1;
    }

    /**
     * Reads a {@code tokenizer.json}. {@code sourceName} is only used in error messages.
     *
     * <p>The begin/end-of-sequence ids are the special tokens the file's {@code TemplateProcessing} puts before
     * (after) the text; failing that, the added token named {@code <s>}, {@code <|begin_of_text|>} or
     * {@code <|endoftext|>} (for the end: {@code </s>}, {@code <|end_of_text|>}, {@code <|endoftext|>}).
     *
     * @throws TokenizerFormatException if the JSON is malformed, is not BPE, or uses a component not implemented
     */
    public static BpeTokenizer fromJson(InputStream in, String sourceName) {
        return new BpeTokenizer(BpeTokenizerFile.read(in, sourceName));
    }

    /** {@code hi} and {@code lo} in one long: the merge table's key (left id, right id) and value (rank, merged id). */
    static long pack(int hi, int lo) {
        return ((long) hi << 32) | (lo & 0xFFFFFFFFL);
    }

    // ---- accessors ----

    public String sourceName() {
        return sourceName;
    }

    @Override
    public int vocabSize() {
        return tokenById.length;
    }

    /** -1 if the file names none. */
    @Override
    public int bosId() {
        return bosId;
    }

    /** -1 if the file names none. */
    @Override
    public int eosId() {
        return eosId;
    }

    /** True for byte-level (GPT-2 / LLaMA 3) files, false for sentencepiece-style ones. */
    public boolean isByteLevel() {
        return decoder.byteLevel();
    }

    public String token(int id) {
        checkId(id);
        return tokenById[id];
    }

    /** The id of a vocab entry or added token, or -1. */
    public int id(String token) {
        Integer id = vocab.get(token);
        if (id != null) return id;
        for (int i = 0; i < tokenById.length; i++) if (token.equals(tokenById[i])) return i;
        return -1;
    }

    // ---- encoding ----

    /** The ids of {@code text}, after the begin-of-sequence id if {@code addBos}. */
    public int[] encode(String text, boolean addBos) {
        return encode(text, addBos, false);
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean addEos) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (addBos) out.add(requireSpecial(bosId, "begin-of-sequence"));
        for (AddedTokenSplitter.Segment segment : addedTokens.split(text)) {
            switch (segment) {
                case AddedTokenSplitter.Added a -> out.add(a.token().id());
                case AddedTokenSplitter.Plain p -> {
                    String normalized = normalize(p.text());
                    for (String word : preTokenize(normalized, p.first())) bpe(word, out);
                }
            }
        }
        if (addEos) out.add(requireSpecial(eosId, "end-of-sequence"));
        return Arrays.copyOf(out.values, out.size);
    }

    private int requireSpecial(int id, String what) {
        if (id < 0) throw new IllegalStateException(sourceName + " defines no " + what + " token");
        return id;
    }

    String normalize(String s) {
        for (NormalizerStep step : normalizer) {
            s = switch (step) {
                case Prepend p -> s.isEmpty() ? s : p.prefix() + s;
                case Replace r -> s.replace(r.pattern(), r.content());
                case UnicodeForm f -> Normalizer.normalize(s, f.form());
            };
        }
        return s;
    }

    List<String> preTokenize(String s, boolean firstSegment) {
        List<String> pieces = new ArrayList<>();
        if (s.isEmpty()) return pieces;
        pieces.add(s);
        for (PreTokenizerStep step : preTokenizer) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            for (int i = 0; i < pieces.size(); i++) {
                String piece = pieces.get(i);
                switch (step) {
                    case Split sp -> split(piece, sp.pattern(), sp.behavior(), next);
                    case ByteLevel bl -> {
                        if (bl.addPrefixSpace() && !piece.startsWith(" ")) piece = " " + piece;
                        List<String> parts = new ArrayList<>();
                        if (bl.useRegex()) split(piece, GPT2_SPLIT, SplitBehavior.ISOLATED, parts);
                        else parts.add(piece);
                        for (String part : parts) next.add(ByteLevelAlphabet.encode(part.getBytes(StandardCharsets.UTF_8)));
                    }
                    case Metaspace ms -> {
                        piece = piece.replace(" ", ms.replacement());
                        boolean prepend = switch (ms.prependScheme()) {
                            case ALWAYS -> true;
                            case FIRST -> firstSegment && i == 0;
                            case NEVER -> false;
                        };
                        if (prepend && !piece.startsWith(ms.replacement())) piece = ms.replacement() + piece;
                        if (ms.split()) splitBeforeEach(piece, ms.replacement(), next);
                        else next.add(piece);
                    }
                }
            }
            pieces = next;
        }
        return pieces;
    }

    /** Cuts {@code s} at the pattern's matches; empty pieces are dropped, as in the Rust crate. */
    private static void split(String s, Pattern pattern, SplitBehavior behavior, List<String> out) {
        Matcher m = pattern.matcher(s);
        int last = 0;
        String carry = ""; // a match waiting to be glued to the next piece (MERGED_WITH_NEXT)
        while (m.find()) {
            if (m.end() == m.start()) continue;
            String gap = s.substring(last, m.start());
            String match = m.group();
            switch (behavior) {
                case ISOLATED -> {
                    addNonEmpty(out, gap);
                    out.add(match);
                }
                case REMOVED -> addNonEmpty(out, gap);
                case MERGED_WITH_PREVIOUS -> out.add(gap + match);
                case MERGED_WITH_NEXT -> {
                    addNonEmpty(out, carry + gap);
                    carry = match;
                }
            }
            last = m.end();
        }
        addNonEmpty(out, carry + s.substring(last));
    }

    /** Metaspace's split: a new piece starts at each marker, which stays at its front ("merged with next"). */
    private static void splitBeforeEach(String s, String marker, List<String> out) {
        int start = 0;
        for (int at = s.indexOf(marker, 1); at >= 0; at = s.indexOf(marker, at + marker.length())) {
            addNonEmpty(out, s.substring(start, at));
            start = at;
        }
        addNonEmpty(out, s.substring(start));
    }

    private static void addNonEmpty(List<String> out, String s) {
        if (!s.isEmpty()) out.add(s);
    }

    /** The Rust crate's {@code BPE::merge_word} and {@code Word::merge_all}. */
    private void bpe(String word, IntList out) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        // Symbols as a doubly linked list over arrays; len == 0 marks a symbol merged into its left neighbour.
        int max = word.length() * 4 + 1;
        int[] id = new int[max], prev = new int[max], next = new int[max], len = new int[max];
        int n = 0;
        int lastUnk = -1;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            String ch = word.substring(i, end);
            if (subwordPrefix != null && i > 0) ch = subwordPrefix + ch;
            if (wordSuffix != null && end == word.length()) ch = ch + wordSuffix;
            Integer tid = vocab.get(ch);
            i = end;
            if (tid != null) {
                n = pushSymbol(id, prev, next, len, n, tid);
                lastUnk = -1;
                continue;
            }
            if (byteFallback) {
                byte[] bytes = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte bt : bytes) all &= byteTokenIds[bt & 0xFF] >= 0;
                if (all) {
                    for (byte bt : bytes) n = pushSymbol(id, prev, next, len, n, byteTokenIds[bt & 0xFF]);
                    lastUnk = -1;
                    continue;
                }
            }
            if (unkId < 0) continue; // the Rust crate drops characters it cannot represent when there is no unk
            if (fuseUnk && lastUnk >= 0 && lastUnk == n - 1) continue; // consecutive unknowns make one [unk]
            n = pushSymbol(id, prev, next, len, n, unkId);
            lastUnk = n - 1;
        }
        if (n > 1) mergeAll(id, prev, next, len, n);
        for (int i = 0; i < n; i++) if (len[i] > 0) out.add(id[i]);
    }

    private static int pushSymbol(int[] id, int[] prev, int[] next, int[] len, int n, int tokenId) {
        id[n] = tokenId;
        prev[n] = n - 1;
        next[n] = n + 1;
        len[n] = 1;
        return n + 1;
    }

    /** A candidate merge: lowest rank first, then leftmost, as the Rust crate's heap orders them. */
    private record Merge(int pos, int rank, int newId) implements Comparable<Merge> {
        @Override
        public int compareTo(Merge o) {
            return rank != o.rank ? Integer.compare(rank, o.rank) : Integer.compare(pos, o.pos);
        }
    }

    private void mergeAll(int[] id, int[] prev, int[] next, int[] len, int n) {
        PriorityQueue<Merge> queue = new PriorityQueue<>(n);
        for (int i = 0; i < n - 1; i++) {
            Long m = merges.get(pack(id[i], id[i + 1]));
            if (m != null) queue.add(new Merge(i, (int) (m >>> 32), (int) (long) m));
        }
        while (!queue.isEmpty()) {
            Merge top = queue.poll();
            int pos = top.pos();
            if (len[pos] == 0 || next[pos] >= n) continue;
            int right = next[pos];
            // Skip entries made stale by an earlier merge on either side.
            Long current = merges.get(pack(id[pos], id[right]));
            if (current == null || (int) (long) current != top.newId()) continue;
            id[pos] = top.newId();
            len[pos] += len[right];
            len[right] = 0;
            next[pos] = next[right];
            if (next[right] < n) prev[next[right]] = pos;
            if (prev[pos] >= 0) {
                Long m = merges.get(pack(id[prev[pos]], id[pos]));
                if (m != null) queue.add(new Merge(prev[pos], (int) (m >>> 32), (int) (long) m));
            }
            if (next[pos] < n) {
                Long m = merges.get(pack(id[pos], id[next[pos]]));
                if (m != null) queue.add(new Merge(pos, (int) (m >>> 32), (int) (long) m));
            }
        }
    }

    // ---- decoding ----

    /** Decodes all ids; special tokens (BOS, EOS, ...) give no text. Invalid UTF-8 becomes U+FFFD. */
    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = -1;
        for (int id : ids) {
            out.writeBytes(decodeBytes(prev, id));
            if (!isSpecial[id]) prev = id;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * The bytes {@code token} adds after {@code prevToken}. The leading space the encoder put before the text is
     * dropped from the first piece, i.e. when {@code prevToken} is BOS or -1 (nothing before), as sentencepiece's
     * decoder does.
     */
    @Override
    public byte[] decodeBytes(int prevToken, int token) {
        checkId(token);
        if (isSpecial[token]) return new byte[0];
        String piece = tokenById[token];
        if (piece == null) return new byte[0];
        if (!vocab.containsKey(piece) || vocab.get(piece) != token) {
            return piece.getBytes(StandardCharsets.UTF_8); // a non-special added token: its literal text
        }
        if (decoder.byteLevel()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
            for (int i = 0; i < piece.length(); i++) {
                int b = ByteLevelAlphabet.byteOf(piece.charAt(i));
                if (b >= 0) out.write(b);
                else out.writeBytes(String.valueOf(piece.charAt(i)).getBytes(StandardCharsets.UTF_8));
            }
            return out.toByteArray();
        }
        if (decoder.byteFallback()) {
            int b = Llama2cTokenizer.bytePieceValue(piece);
            if (b >= 0) return new byte[] {(byte) b};
        }
        String text = piece.replace(decoder.spaceMarker(), " ");
        boolean first = prevToken < 0 || prevToken == bosId;
        int strip = first ? decoder.stripLeadingSpaces() : 0;
        int k = 0;
        while (k < strip && k < text.length() && text.charAt(k) == ' ') k++;
        return text.substring(k).getBytes(StandardCharsets.UTF_8);
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokenById.length) throw new IllegalArgumentException("token id " + id + " outside 0.." + (tokenById.length - 1) + " of " + sourceName);
    }

}
