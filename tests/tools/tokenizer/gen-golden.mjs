// Generates host/src/test/resources/tokenizer/bert-golden.json: token ids produced by Hugging Face's own
// JS tokenizers (an implementation independent of ours) for the two BERT tokenizer.json files that ship in the
// langchain4j embedding jars. If the Rust-backed binding @anush008/tokenizers is also installed, every entry is
// cross-checked against it and any disagreement is printed (and recorded in the fixture).
// How to run: see README.md beside this file.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Tokenizer } from "@huggingface/tokenizers";

const [, , dir, out] = process.argv;
if (!dir || !out) {
  console.error("usage: node gen-golden.mjs DIR_WITH_TOKENIZER_JSONS OUT.json");
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

function loadHfjs(json) {
  return new Tokenizer(json, {});
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
for (const [name, file] of Object.entries(FILES)) {
  const path = `${dir}/${file}`;
  const json = JSON.parse(readFileSync(path, "utf8"));
  const tok = loadHfjs(json);
  let rtok = null;
  if (rust) rtok = rust.Tokenizer.fromFile(path);
  const cases = [];
  for (const text of INPUTS) {
    const ids = Array.from(tok.encode(text).ids, Number);
    const entry = { text, ids };
    if (rtok) {
      const enc = await rtok.encode(text);
      // The file's own truncation/padding (all-minilm: 128, padded) would apply in Rust; compare unpadded ids.
      const rids = Array.from(enc.getIds()).filter((id, i) => enc.getAttentionMask()[i] === 1);
      if (JSON.stringify(rids) !== JSON.stringify(ids)) {
        disagreements.push({ tokenizer: name, text, js: ids, rust: rids });
        entry.rustIds = rids;
      }
    }
    cases.push(entry);
  }
  result.tokenizers[name] = { file, cases };
}
if (rust) {
  const require = createRequire(import.meta.url);
  const rpkg = JSON.parse(readFileSync(require.resolve("@anush008/tokenizers/package.json"), "utf8"));
  result.crossCheck = `@anush008/tokenizers ${rpkg.version} (Rust tokenizers): ${disagreements.length} disagreement(s)`;
}
writeFileSync(out, JSON.stringify(result, null, 1) + "\n");
for (const d of disagreements) console.error("DISAGREE", JSON.stringify(d));
console.error(`wrote ${out}: ${INPUTS.length} inputs x ${Object.keys(FILES).length} tokenizers; ${result.crossCheck}`);
