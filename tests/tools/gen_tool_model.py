#!/usr/bin/python3
"""Makes tests/data/v3_tools.gguf: a tiny model that, greedy, answers a chat
with one DeepSeek-V3 tool call, so that dsv3-server's reading of generated
calls is tested end to end (tests/test_server.c).

It is v3_f32_bpe.gguf (320 tokens, the v3_f32 shapes) with
  - its last 10 merged tokens replaced by DeepSeek's five tool-call tokens
    (CONTROL) and five text pieces (USER_DEFINED), the merges that made them
    dropped;
  - every block's output projections (attn_output, ffn_down, the experts'
    and shared expert's ffn_down) zero, so the final hidden state is the
    token's embedding and the next token depends on the current one only;
  - the embeddings of the chain's tokens one-hot in their own dimension, and
    output.weight scoring, for each chain token, its successor:
      <｜Assistant｜> -> <｜tool▁calls▁begin｜> -> <｜tool▁call▁begin｜> -> "function"
      -> <｜tool▁sep｜> -> "get_weather" -> "\\n```json\\n" -> "{\\"city\\": \\"Paris\\"}"
      -> "\\n```" -> <｜tool▁call▁end｜> -> <｜tool▁calls▁end｜> -> <｜end▁of▁sentence｜>

usage: gen_tool_model.py   (from the repository root; deterministic; numpy)
"""
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import gguf_reader  # noqa: E402
import gguf_writer as gw  # noqa: E402

FW_L, FW_R, LB = "<\uff5c", "\uff5c>", "\u2581"
NEW = [(FW_L + "tool" + LB + "calls" + LB + "begin" + FW_R, 3), (FW_L + "tool" + LB + "calls" + LB + "end" + FW_R, 3),
       (FW_L + "tool" + LB + "call" + LB + "begin" + FW_R, 3), (FW_L + "tool" + LB + "call" + LB + "end" + FW_R, 3),
       (FW_L + "tool" + LB + "sep" + FW_R, 3), ("function", 4), ("get_weather", 4), ("\n```json\n", 4),
       ('{"city": "Paris"}', 4), ("\n```", 4)]
ASSISTANT, EOS = 3, 1
CALLS_BEGIN, CALLS_END, CALL_BEGIN, CALL_END, SEP, FUNCTION, NAME, OPEN, ARGS, CLOSE = range(310, 320)
CHAIN = [ASSISTANT, CALLS_BEGIN, CALL_BEGIN, FUNCTION, SEP, NAME, OPEN, ARGS, CLOSE, CALL_END, CALLS_END, EOS]


def main():
    src = os.path.join(here, "..", "data", "v3_f32_bpe.gguf")
    out = os.path.join(here, "..", "data", "v3_tools.gguf")
    g = gguf_reader.GGUFFile.read(src)
    tokens = list(g.kv["tokenizer.ggml.tokens"])
    types = list(g.kv["tokenizer.ggml.token_type"])
    merges = list(g.kv["tokenizer.ggml.merges"])
    assert len(tokens) == 320 and len(merges) >= 10
    merges = merges[:-10]  # they made tokens 310..319
    for i, (text, ttype) in enumerate(NEW):
        tokens[310 + i] = text
        types[310 + i] = ttype
    assert len(set(tokens)) == 320

    w = gw.GGUFWriter(version=g.version, alignment=g.alignment, write_alignment_key="general.alignment" in g.kv)
    for key, value in g.kv.items():
        if key == "general.alignment":
            continue
        if key == "general.name":
            value = "dsv3-test-v3_tools"
        if key == "tokenizer.ggml.tokens":
            value = tokens
        elif key == "tokenizer.ggml.token_type":
            value = types
        elif key == "tokenizer.ggml.merges":
            value = merges
        vtype, elem = g.kv_types[key]
        if vtype == gw.T_ARRAY:
            w.add_array(key, elem, value)
        else:
            w._add(key, vtype, value)

    d = g.tensors["token_embd.weight"]["ne"][0]
    assert d >= len(CHAIN)
    rng = np.random.default_rng(7)
    for name in g.tensor_order:
        arr = g.array(name).astype(np.float32)
        if name.endswith(("attn_output.weight", "ffn_down.weight", "ffn_down_exps.weight", "ffn_down_shexp.weight")):
            arr = np.zeros_like(arr)
        elif name == "token_embd.weight":  # [vocab][d]
            arr = (rng.standard_normal(arr.shape) * 0.01).astype(np.float32)
            for k, t in enumerate(CHAIN):
                arr[t, :] = 0
                arr[t, k] = 1
        elif name == "output_norm.weight":
            arr = np.ones_like(arr)
        elif name == "output.weight":  # [vocab][d]: logit[j] = row j . h
            arr = (rng.standard_normal(arr.shape) * 0.01).astype(np.float32)
            for k in range(len(CHAIN) - 1):
                arr[CHAIN[k + 1], k] = 4.0
        w.add_tensor(name, arr, 0)
    data = w.write(out)
    print("%s: %d bytes" % (out, len(data)))


if __name__ == "__main__":
    main()
