// Generates golden token ids with Hugging Face's own JS tokenizers (an implementation independent of ours):
//   node gen-golden.mjs bert DIR OUT.json          the two BERT tokenizer.json files of the langchain4j jars in DIR
//   node gen-golden.mjs bpe NAME=FILE... OUT.json   BPE tokenizer.json files: content ids (no special tokens added)
//                                                   and the decoded text
//   node gen-golden.mjs llama2c RUN_C TOKENIZER_BIN OUT.json
//                                                   llama2.c's own run.c (compiled here with gcc, its encode() and
//                                                   decode() called by a small driver) on tokenizer.bin
// If the Rust-backed binding @anush008/tokenizers is also installed, every entry is cross-checked against it; a
// disagreement is printed and recorded in the fixture (rustIds / rustDecoded beside the JS result).
// How to run: see README.md beside this file.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { Tokenizer } from "@huggingface/tokenizers";

const [, , mode, ...rest] = process.argv;
const out = rest.pop();
if (!out || !["bert", "bpe", "llama2c"].includes(mode) || rest.length === 0) {
  console.error("usage: node gen-golden.mjs bert DIR OUT.json | bpe NAME=FILE... OUT.json | llama2c RUN_C TOKENIZER_BIN OUT.json");
  process.exit(2);
}

const FILES = {
  "bge-small-en-v1.5": "bge-small-en-v1.5-tokenizer.json",
  "all-minilm-l6-v2": "all-minilm-l6-v2-tokenizer.json",
};

const longWord = "a".repeat(101);
const longWordMixed = "Pneumonoultramicroscopicsilicovolcanoconiosis".repeat(3);
const INPUTS = [
  "",
  " ",
  "   \t\n  ",
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "I can't believe it's not butter.",
  "She said: \"Don't go there!\" (and he didn't).",
  "Transformers are a type of neural network architecture.",
  "What is the capital of France? Paris.",
  "café",
  "naïve résumé",
  "Ångström",
  "CAFÉ Déjà Vu",
  "Crème brûlée über straße",
  "e\u0301 combining acute, a\u0308 combining diaeresis",
  "ﬁ ligature and ｆｕｌｌｗｉｄｔｈ",
  "日本語のテキスト",
  "中文分词",
  "한국어 텍스트입니다",
  "Mixed 日本 and English",
  "😀 emoji",
  "👨‍👩‍👧‍👦 family ZWJ",
  "🏳️‍🌈 flag and 👍🏽 skin tone",
  "https://example.com/path?q=1&x=y#frag",
  "email me at john.doe+tag@example.org",
  longWord,
  longWord + " short",
  longWordMixed,
  "3.14159 1,000,000 $12.50 50% 2024-01-15",
  "v1.2.3-beta+build.7",
  "tab\there\tand\ttabs",
  "line1\nline2\r\nline3",
  "control\u0000char\u0001s\u007f here",
  "zero\u200bwidth\u200cjoiner\u200d",
  "soft\u00adhyphen",
  "\ufeffBOM at start",
  "MiXeD CaSe WoRdS",
  "ALL CAPS SENTENCE",
  "Ελληνικά κείμενο",
  "Русский текст",
  "ΟΔΥΣΣΕΥΣ ΣΟΦΟΣ",
  "İstanbul DİYARBAKIR",
  "النص العربي",
  "עברית",
  "हिन्दी पाठ",
  "ไทย",
  "Ω≈ç√∫˜µ≤≥÷",
  "¡Hola! ¿Qué tal?",
  "«quotes» „German“ ‘single’ “double”",
  "em—dash en–dash … ellipsis",
  "a-b_c/d\\e|f~g`h^i",
  "@#$%^&*()[]{}<>",
  "C++ and C# and F#",
  "x² + y³ = z½",
  "©®™ §¶",
  "unaffable unbelievable tokenization",
  "[CLS] literal special tokens [SEP] and [MASK]",
  "[unk] lowercased bracket",
  "   leading and trailing spaces   ",
  "multiple     internal     spaces",
  "I'm gonna wanna y'all",
  "Dr. Smith's 2nd-floor office (Room 101B).",
  "nbsp\u00a0here and\u3000ideographic space",
  "ＡＢＣ１２３",
];

// Extra inputs for LLaMA-family BPE: special tokens in the text, spaces and newlines that sentencepiece keeps.
const BPE_INPUTS = [
  "<s>Hello</s> world",
  "<|begin_of_text|>Hi<|eot_id|>",
  "Hello\n\nworld\n",
  "  two leading spaces",
  "trailing spaces  ",
  "def f(x):\n    return x ** 2  # square",
  "12345678901234567890",
  "Once upon a time, in a quiet village",
  "don't DON'T I'M we'll they've",
  "\u00e9t\u00e9 vs e\u0301te\u0301",
  "\u{1F600}\u{1F600}\u{1F600}",
  "a\u00a0b\u2003c",
  "x".repeat(300),
];

// run.c merges whatever concatenates to a piece, even BOS's "\n<s>\n".
const LLAMA2C_INPUTS = ["a\n<s>\nb", "   ", "\u00ff\u0100"];

if (mode === "llama2c") {
  const [runC, tokenizerBin] = rest;
  const dir = mkdtempSync(`${tmpdir()}/llama2c-`);
  copyFileSync(runC, `${dir}/run.c`);
  // The driver: TESTING leaves out run.c's main(); each input arrives as a 4-byte length and its UTF-8 bytes.
  writeFileSync(`${dir}/driver.c`, `#define TESTING
#include "run.c"
int main(int argc, char **argv) {
  Tokenizer t; build_tokenizer(&t, argv[1], 32000);
  unsigned int len;
  while (fread(&len, 4, 1, stdin) == 1) {
    char *text = calloc(len + 1, 1);
    if (len > 0 && fread(text, 1, len, stdin) != len) return 1;
    int *tokens = malloc((len + 3) * sizeof(int)); int n = 0;
    encode(&t, text, 1, 0, tokens, &n);
    for (int i = 0; i < n; i++) printf("%s%d", i ? " " : "", tokens[i]);
    printf("\\t");
    for (int i = 1; i < n; i++) { char *p = decode(&t, tokens[i - 1], tokens[i]); for (char *c = p; *c; c++) printf("%02x", (unsigned char) *c); }
    printf("\\n");
    free(text); free(tokens);
  }
  return 0;
}
`);
  execFileSync("gcc", ["-O2", "-o", `${dir}/driver`, `${dir}/driver.c`, "-lm"]);
  const inputs = [...INPUTS, ...BPE_INPUTS, ...LLAMA2C_INPUTS];
  const records = inputs.map((text) => {
    const b = Buffer.from(text, "utf8");
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    return Buffer.concat([h, b]);
  });
  const lines = execFileSync(`${dir}/driver`, [tokenizerBin], { input: Buffer.concat(records) }).toString("utf8").split("\n");
  const cases = inputs.map((text, i) => {
    const [ids, hex] = lines[i].split("\t");
    return { text, ids: ids.split(" ").map(Number), decodedHex: hex };
  });
  const bin = readFileSync(tokenizerBin);
  const golden = {
    generator: "tests/tools/tokenizer/gen-golden.mjs llama2c",
    reference: "llama2.c run.c encode(text, bos=1, eos=0); decodedHex: its decode(prev, token) for tokens 1.., as hex",
    runCSha256: createHash("sha256").update(readFileSync(runC)).digest("hex"),
    tokenizerSha256: createHash("sha256").update(bin).digest("hex"),
    cases,
  };
  writeFileSync(out, JSON.stringify(golden, null, 1) + "\n");
  console.error(`wrote ${out}: ${cases.length} inputs`);
  process.exit(0);
}

let rust = null;
try {
  const require = createRequire(import.meta.url);
  rust = require("@anush008/tokenizers");
} catch {
  console.error("note: @anush008/tokenizers not installed, no Rust cross-check");
}

const result = { generator: "tests/tools/tokenizer/gen-golden.mjs", library: "", crossCheck: "", tokenizers: {} };
const pkg = JSON.parse(readFileSync(new URL("./node_modules/@huggingface/tokenizers/package.json", `file://${process.cwd()}/`)));
result.library = `@huggingface/tokenizers ${pkg.version}`;
const disagreements = [];
const files = mode === "bert"
  ? Object.entries(FILES).map(([name, file]) => [name, `${rest[0]}/${file}`])
  : rest.map((a) => a.split("="));
const inputs = mode === "bert" ? INPUTS : [...INPUTS, ...BPE_INPUTS];
for (const [name, path] of files) {
  const bytes = readFileSync(path);
  const tok = new Tokenizer(JSON.parse(bytes.toString("utf8")), {});
  const rtok = rust ? rust.Tokenizer.fromFile(path) : null;
  const cases = [];
  for (const text of inputs) {
    // BERT: with [CLS]/[SEP]; BPE: content ids only (the caller adds BOS), plus the decoded text.
    const ids = Array.from(tok.encode(text, { add_special_tokens: mode === "bert" }).ids, Number);
    const entry = { text, ids };
    if (mode === "bpe") entry.decoded = ids.length === 0 ? "" : tok.decode(ids, { skip_special_tokens: true });
    if (rtok) {
      const enc = await rtok.encode(text, null, { addSpecialTokens: mode === "bert" });
      // The file's own truncation/padding (all-minilm: 128, padded) would apply in Rust; compare unpadded ids.
      const mask = enc.getAttentionMask();
      const rids = Array.from(enc.getIds()).filter((id, i) => mask[i] === 1);
      if (JSON.stringify(rids) !== JSON.stringify(ids)) {
        disagreements.push({ tokenizer: name, text, js: ids, rust: rids });
        entry.rustIds = rids;
      }
      if (mode === "bpe") {
        const rdecoded = await rtok.decode(rids, true);
        if (rdecoded !== entry.decoded) {
          disagreements.push({ tokenizer: name, text, jsDecoded: entry.decoded, rustDecoded: rdecoded });
          entry.rustDecoded = rdecoded;
        }
      }
    }
    cases.push(entry);
  }
  const file = path.split("/").pop();
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  result.tokenizers[name] = mode === "bert" ? { file, cases } : { file, sha256, cases };
}
if (rust) {
  const require = createRequire(import.meta.url);
  const rpkg = JSON.parse(readFileSync(require.resolve("@anush008/tokenizers/package.json"), "utf8"));
  result.crossCheck = `@anush008/tokenizers ${rpkg.version} (Rust tokenizers): ${disagreements.length} disagreement(s)`;
}
writeFileSync(out, JSON.stringify(result, null, 1) + "\n");
for (const d of disagreements) console.error("DISAGREE", JSON.stringify(d));
console.error(`wrote ${out}: ${inputs.length} inputs x ${files.length} tokenizers; ${result.crossCheck}`);
