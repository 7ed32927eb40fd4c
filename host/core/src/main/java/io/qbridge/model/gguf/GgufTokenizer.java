package io.qbridge.model.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qbridge.tokenizer.Llama2cTokenizer;
import io.qbridge.tokenizer.TextTokenizer;
import io.qbridge.tokenizer.TokenizerFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer a GGUF file carries ({@code tokenizer.ggml.*}), built as one of the project's tokenizers so that
 * prompts get the ids those tokenizers give for the same tables:
 * <ul>
 *   <li>{@code model = "llama"} (SentencePiece-style {@code tokens} and {@code scores}): the pieces, with
 *       SentencePiece's "▁" turned into a space as llama2.c's tokenizer export does, become a
 *       {@link Llama2cTokenizer}. That tokenizer encodes as llama2.c's {@code run.c} does, so it needs llama2.c's
 *       layout: BOS 1, EOS 2, byte pieces {@code <0x00>}..{@code <0xFF>} at ids 3..258 (LLaMA 1/2 and TinyLlama
 *       vocabularies have it); anything else is refused.</li>
 *   <li>{@code model = "gpt2"} (byte-level BPE {@code tokens} and {@code merges}): a {@link io.qbridge.tokenizer.BpeTokenizer} with
 *       the GPT-2 byte-level pre-tokenizer and decoder, or LLaMA 3's split pattern when {@code tokenizer.ggml.pre}
 *       is {@code llama-bpe}; control tokens ({@code token_type} 3) are special added tokens, and
 *       {@code bos_token_id}/{@code eos_token_id} are BOS and EOS.</li>
 * </ul>
 */
public final class GgufTokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** LLaMA 3's pre-tokenizer split, as its tokenizer.json states it. */
    private static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private GgufTokenizer() {}

    /** The file's tokenizer for a model of {@code vocabSize} rows, or a one-line error. */
    public static TextTokenizer load(GgufFile f, int vocabSize) throws GgufException {
        TokenizerFile file = file(f, vocabSize);
        try {
            return file.parse(vocabSize, f.path().toString());
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw error(f, "has a tokenizer that cannot be built: " + e.getMessage());
        }
    }

    /**
     * The file's tokenizer written out as the project's tokenizer file it becomes: {@code tokenizer.bin} for a
     * SentencePiece-style one, {@code tokenizer.json} for byte-level BPE (what a decoder {@code .qbz} carries);
     * {@link #load} parses exactly these bytes.
     */
    public static TokenizerFile file(GgufFile f, int vocabSize) throws GgufException {
        Object model = f.metadata().get("tokenizer.ggml.model");
        if (model == null) throw error(f, "carries no tokenizer (no tokenizer.ggml.model); give one with --tokenizer");
        List<String> tokens = strings(f, "tokenizer.ggml.tokens");
        if (tokens.size() > vocabSize) {
            throw error(f, "has " + tokens.size() + " tokenizer tokens but a vocabulary of " + vocabSize + ": the tokenizer does not fit the model");
        }
        try {
            return switch (model.toString()) {
                case "llama" -> sentencePiece(f, tokens, vocabSize);
                case "gpt2" -> byteLevelBpe(f, tokens);
                default -> throw error(f, "has tokenizer.ggml.model " + GgufException.shown(model) + "; only llama and gpt2 are supported");
            };
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw error(f, "has a tokenizer that cannot be built: " + e.getMessage());
        }
    }

    private static TokenizerFile sentencePiece(GgufFile f, List<String> tokens, int vocabSize) throws GgufException {
        if (tokens.size() != vocabSize) {
            throw error(f, "has " + tokens.size() + " tokenizer tokens but a vocabulary of " + vocabSize + ": the tokenizer does not fit the model");
        }
        List<?> scores = list(f, "tokenizer.ggml.scores");
        if (scores.size() != tokens.size()) throw error(f, "has " + scores.size() + " tokenizer scores for " + tokens.size() + " tokens");
        long bos = longKey(f, "tokenizer.ggml.bos_token_id", Llama2cTokenizer.BOS), eos = longKey(f, "tokenizer.ggml.eos_token_id", Llama2cTokenizer.EOS);
        if (bos != Llama2cTokenizer.BOS || eos != Llama2cTokenizer.EOS) {
            throw error(f, "has BOS " + bos + " and EOS " + eos + "; the SentencePiece-style tokenizer needs BOS 1 and EOS 2");
        }
        for (int b = 0; b < 256; b++) {
            String want = String.format("<0x%02X>", b);
            if (tokens.size() <= 3 + b || !tokens.get(3 + b).equals(want)) {
                throw error(f, "has no byte piece " + want + " at id " + (3 + b) + "; the SentencePiece-style tokenizer needs byte pieces at ids 3..258");
            }
        }
        // the same bytes llama2.c's tokenizer.bin holds: max_token_length, then per piece score, length, bytes
        List<byte[]> pieces = new ArrayList<>(tokens.size());
        int max = 1;
        long total = 4;
        for (String t : tokens) {
            byte[] b = t.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
            pieces.add(b);
            max = Math.max(max, b.length);
            total += 8 + b.length;
        }
        ByteBuffer bin = ByteBuffer.allocate(Math.toIntExact(total)).order(ByteOrder.LITTLE_ENDIAN);
        bin.putInt(max);
        for (int i = 0; i < pieces.size(); i++) {
            if (!(scores.get(i) instanceof Float s)) throw error(f, "has a tokenizer score " + i + " that is not a float32: " + scores.get(i));
            bin.putFloat(s).putInt(pieces.get(i).length).put(pieces.get(i));
        }
        return new TokenizerFile(TokenizerFile.LLAMA2C, bin.array());
    }

    private static TokenizerFile byteLevelBpe(GgufFile f, List<String> tokens) throws GgufException {
        List<String> merges = strings(f, "tokenizer.ggml.merges");
        List<?> types = f.metadata().containsKey("tokenizer.ggml.token_type") ? list(f, "tokenizer.ggml.token_type") : List.of();
        if (!types.isEmpty() && types.size() != tokens.size()) throw error(f, "has " + types.size() + " token types for " + tokens.size() + " tokens");
        Object pre = f.metadata().getOrDefault("tokenizer.ggml.pre", "default");
        ObjectNode root = JSON.createObjectNode();
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode vocab = JSON.createObjectNode();
        for (int i = 0; i < tokens.size(); i++) {
            vocab.put(tokens.get(i), i);
            long type = types.isEmpty() ? 1 : types.get(i) instanceof Long t ? t : -1;
            if (type == 3 || type == 4) {
                added.addObject().put("id", i).put("content", tokens.get(i)).put("special", type == 3);
            }
        }
        ObjectNode m = root.putObject("model");
        m.put("type", "BPE");
        m.set("vocab", vocab);
        ArrayNode ms = m.putArray("merges");
        merges.forEach(ms::add);
        ObjectNode byteLevel = JSON.createObjectNode().put("type", "ByteLevel").put("add_prefix_space", false);
        switch (pre.toString()) {
            case "default", "gpt2" -> root.set("pre_tokenizer", byteLevel.put("use_regex", true));
            case "llama-bpe", "llama3" -> {
                ObjectNode seq = root.putObject("pre_tokenizer").put("type", "Sequence");
                ArrayNode steps = seq.putArray("pretokenizers");
                ObjectNode split = steps.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false);
                split.putObject("pattern").put("Regex", LLAMA3_SPLIT);
                steps.add(byteLevel.put("use_regex", false));
            }
            default -> throw error(f, "has tokenizer.ggml.pre " + GgufException.shown(pre) + "; only default, gpt2 and llama-bpe are supported");
        }
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode post = JSON.createObjectNode().put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        ObjectNode special = post.putObject("special_tokens");
        long bos = longKey(f, "tokenizer.ggml.bos_token_id", -1), eos = longKey(f, "tokenizer.ggml.eos_token_id", -1);
        if (bos >= 0) {
            single.addObject().putObject("SpecialToken").put("id", "bos");
            special.putObject("bos").putArray("ids").add(bos);
        }
        single.addObject().putObject("Sequence").put("id", "A");
        if (eos >= 0) {
            single.addObject().putObject("SpecialToken").put("id", "eos");
            special.putObject("eos").putArray("ids").add(eos);
        }
        root.set("post_processor", post);
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw error(f, "has a tokenizer that cannot be built: " + e.getOriginalMessage());
        }
        return new TokenizerFile(TokenizerFile.HF_JSON, json);
    }

    private static List<?> list(GgufFile f, String key) throws GgufException {
        Object v = f.metadata().get(key);
        if (v == null) throw error(f, "lacks " + key);
        if (!(v instanceof List<?> l)) throw error(f, "has " + key + " that is not an array");
        return l;
    }

    @SuppressWarnings("unchecked")
    private static List<String> strings(GgufFile f, String key) throws GgufException {
        List<?> l = list(f, key);
        for (Object o : l) if (!(o instanceof String)) throw error(f, "has " + key + " that is not an array of strings");
        return (List<String>) l;
    }

    private static long longKey(GgufFile f, String key, long fallback) throws GgufException {
        Object v = f.metadata().get(key);
        if (v == null) return fallback;
        if (!(v instanceof Long l)) throw error(f, "has a bad " + key + ": " + GgufException.shown(v));
        return l;
    }

    private static GgufException error(GgufFile f, String what) {
        return new GgufException("GGUF file " + f.path() + " " + what);
    }
}
