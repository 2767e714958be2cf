#!/usr/bin/env -S /usr/bin/python3
"""Goldens of the shipped model, computed by the PyTorch model from the GGUF's stored
(dequantized) weights in float64, and cross-checked against tests/tools/reference.py.

    /usr/bin/python3 tests/tools/train/golden.py models/dsv3-kjv.gguf tests/data

writes
    DIR/kjv.golden   DSVG v1 (tests/tools/README.md): BOS + GOLDEN_TEXT, logits of every position
    DIR/kjv.golden.txt  GOLDEN_TEXT itself (the C tokenizer must give the golden's tokens)
    DIR/kjv.experts  tokens per routed expert in each MoE layer for the golden's tokens,
                     routed with the bias ("bias LAYER c0,c1,...") and without ("nobias ...")
    DIR/kjv.greedy   line 1: the prompt's token ids (BOS + GREEDY_PROMPT), comma-separated
                     line 2: the 32 tokens greedy decoding appends, comma-separated
and prints the agreement with reference.py and the smallest top-1/top-2 logit gap of
the greedy run (the C engine computes in float32, so a near-tie could flip a token).
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import reference as ref  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from export import load_gguf_model  # noqa: E402

# Genesis 1:1-3 (in the training split) and the first words of John 1:1.
GOLDEN_TEXT = ("In the beginning God created the heaven and the earth.\n"
               "And the earth was without form, and void; and darkness was upon the face of the deep. "
               "And the Spirit of God moved upon the face of the waters.\n")
GREEDY_PROMPT = "And God said,"
N_GREEDY = 32


def tokenizer_from_gguf(g):
    merges = [tuple(m.split(" ")) for m in g.kv["tokenizer.ggml.merges"]]
    return Tokenizer(g.kv["tokenizer.ggml.tokens"], merges)


@torch.no_grad()
def greedy(model, prompt, n):
    ids = list(prompt)
    gaps = []
    for _ in range(n):
        lg = model(torch.tensor([ids]))[0, -1]
        top = torch.topk(lg, 2)
        gaps.append(float(top.values[0] - top.values[1]))
        ids.append(int(top.indices[0]))
    return ids[len(prompt):], gaps


def main(gguf, out_dir):
    torch.set_num_threads(2)
    model, g = load_gguf_model(gguf, torch.float64)
    tok = tokenizer_from_gguf(g)
    tokens = tok.encode(GOLDEN_TEXT, bos=True)
    with torch.no_grad():
        logits = model(torch.tensor([tokens]))[0].numpy()
    # the independent numpy reference on the same file
    rm = ref.load_gguf(gguf)
    want = ref.forward(rm, tokens)
    want_abs = ref.forward(rm, tokens, absorbed=True)
    scale = np.abs(want).max()
    err = np.abs(logits - want).max() / scale
    err_abs = np.abs(logits - want_abs).max() / scale
    print("golden: %d tokens; PyTorch float64 vs reference.py: max |diff| / max |logit| = %.3g "
          "(absorbed MLA: %.3g)" % (len(tokens), err, err_abs))
    assert err < 1e-9 and err_abs < 1e-9, "PyTorch model and reference.py disagree"
    os.makedirs(out_dir, exist_ok=True)
    ref.write_golden(os.path.join(out_dir, "kjv.golden"), tokens, logits)
    with open(os.path.join(out_dir, "kjv.golden.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(GOLDEN_TEXT)
    moe_layers = [i for i in range(model.cfg.n_layer) if i >= model.cfg.n_dense]
    lines = []
    for name, on in (("bias", True), ("nobias", False)):
        model.set_use_bias(on)
        with torch.no_grad():
            model(torch.tensor([tokens]))
        for li, m in zip(moe_layers, model.moe_layers()):
            lines.append("%s %d %s" % (name, li, ",".join(str(int(c)) for c in m.last_counts)))
        loads = [float(m.last_counts.max()) / float(m.last_counts.float().mean())
                 for m in model.moe_layers()[:len(moe_layers)]]
        print("expert load on the golden text, %s: max/mean %s" % (name, " ".join("%.2f" % x for x in loads)))
    model.set_use_bias(True)
    with open(os.path.join(out_dir, "kjv.experts"), "w") as f:
        f.write("\n".join(lines) + "\n")

    prompt = tok.encode(GREEDY_PROMPT, bos=True)
    cont, gaps = greedy(model, prompt, N_GREEDY)
    with open(os.path.join(out_dir, "kjv.greedy"), "w") as f:
        f.write(",".join(map(str, prompt)) + "\n" + ",".join(map(str, cont)) + "\n")
    print("greedy: prompt %r -> %r" % (GREEDY_PROMPT, tok.decode(cont)))
    print("greedy: smallest top-1/top-2 logit gap %.4f (step %d)" % (min(gaps), int(np.argmin(gaps))))
    # the reference agrees on the greedy continuation too
    full = prompt + cont
    rl = ref.forward(rm, full)
    assert [int(np.argmax(rl[len(prompt) - 1 + i])) for i in range(N_GREEDY)] == cont
    print("golden argmax (teacher-forced) matches the next text token at %d of %d positions"
          % (int((np.argmax(logits[:-1], axis=1) == np.array(tokens[1:])).sum()), len(tokens) - 1))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
