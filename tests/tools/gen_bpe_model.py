#!/usr/bin/python3
"""Makes tests/data/v3_f32_bpe.gguf: the tiny v3_f32 test model (same weights,
same keys, same logits) with a real byte-level BPE tokenizer of its 320 tokens
instead of "<t0>".."<t319>", so that the CLI's text path (prompts through the
tokenizer, generated text streamed) can be tested end to end.

  0..3     <｜begin▁of▁sentence｜> <｜end▁of▁sentence｜> <｜User｜> <｜Assistant｜> (CONTROL)
  4..259   the 256 bytes, in the GPT-2 byte-level alphabet (NORMAL)
  260..319 60 merges learned greedily from a short English sample (NORMAL)

usage: gen_bpe_model.py   (from the repository root; deterministic)
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import gguf_reader  # noqa: E402
import gguf_writer as gw  # noqa: E402

SAMPLE = ("the quick brown fox jumps over the lazy dog. hello world, hello there! "
          "the cat sat on the mat and the dog sat on the log. there is the answer.")


def byte_alphabet():
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(0x100 + extra)
            extra += 1
    return table


def learn_merges(words, n):
    """Greedy BPE training: merge the most frequent adjacent pair (ties: the
    lexicographically smallest), n times."""
    seqs = [list(w) for w in words]
    merges = []
    for _ in range(n):
        counts = {}
        for s in seqs:
            for a, b in zip(s, s[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        for s in seqs:
            i = 0
            while i + 1 < len(s):
                if (s[i], s[i + 1]) == best:
                    s[i:i + 2] = [s[i] + s[i + 1]]
                i += 1
    return merges


def main():
    src = os.path.join(here, "..", "data", "v3_f32.gguf")
    out = os.path.join(here, "..", "data", "v3_f32_bpe.gguf")
    g = gguf_reader.GGUFFile.read(src)
    alpha = byte_alphabet()
    words = []
    for i, w in enumerate(SAMPLE.split(" ")):
        words.append(("" if i == 0 else alpha[0x20]) + "".join(alpha[b] for b in w.encode()))
    specials = ["<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>",
                "<\uff5cUser\uff5c>", "<\uff5cAssistant\uff5c>"]
    tokens = specials + [alpha[b] for b in range(256)]
    merges = learn_merges(words, 320 - len(tokens))
    for a, b in merges:
        tokens.append(a + b)
    assert len(tokens) == 320 and len(set(tokens)) == 320
    types = [3] * len(specials) + [1] * (320 - len(specials))

    w = gw.GGUFWriter(version=g.version, alignment=g.alignment, write_alignment_key="general.alignment" in g.kv)
    for key, value in g.kv.items():
        if key.startswith("tokenizer.") or key == "general.alignment":
            continue
        vtype, elem = g.kv_types[key]
        if vtype == gw.T_ARRAY:
            w.add_array(key, elem, value)
        else:
            w._add(key, vtype, value)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "deepseek-v3")
    w.add_array("tokenizer.ggml.tokens", gw.T_STRING, tokens)
    w.add_array("tokenizer.ggml.token_type", gw.T_INT32, types)
    w.add_array("tokenizer.ggml.merges", gw.T_STRING, ["%s %s" % m for m in merges])
    w.add_u32("tokenizer.ggml.bos_token_id", 0)
    w.add_u32("tokenizer.ggml.eos_token_id", 1)
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    for name, t in g.tensors.items():
        w.add_tensor_raw(name, tuple(t["ne"]), t["type"], g.raw(name))
    data = w.write(out)
    print("%s: %d bytes, %d merges" % (out, len(data), len(merges)))


if __name__ == "__main__":
    main()
