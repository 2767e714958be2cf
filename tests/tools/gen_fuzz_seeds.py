#!/usr/bin/env -S /usr/bin/python3
"""Deterministic seed corpus for fuzz/fuzz_load.c (written to fuzz/corpus/load/).

Run from the repository root:   /usr/bin/python3 tests/tools/gen_fuzz_seeds.py

Micro deepseek2 models (3 to 15 KB each) built with the same
weight maker, HF -> GGUF conversion and metadata as gen_models.py, re-read with the
independent gguf_reader.py; plus two header-only fragments. No goldens: the
fuzzer only needs inputs that reach deep into the loader and the forward pass.
Output is identical byte for byte on every run.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_models as gm  # noqa: E402
import gguf_writer as gw  # noqa: E402
from gguf_reader import GGUFFile  # noqa: E402

OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "fuzz", "corpus", "load"))

# Micro models (a few KB, so that whole valid models fit in the fuzzer's -max_len).
MICRO = dict(gm.BASE, V=8, E=16, H=2, dn=4, dr=4, dv=4, Lq=8, Lkv=8, F=8, Fe=8,
             ctx=64, n_tokens=0)

SEEDS = [
    # V3 layout: split k_b/v_b, low-rank q, sigmoid + bias, groups, YaRN, alignment key
    dict(MICRO, name="micro_v3_f16", seed=5005, storage=gm.F16, align_key=True,
         L=2, n_dense=1, X=4, k=2, S=1, groups=(2, 1), gating=2, bias=True, norm=True,
         scale=2.5, base=100.0, yarn=dict(factor=4.0, orig=16, log_mul=0.1), split=True,
         pad_id=2),
    # V2-Lite layout, GGUF v2: plain attn_q, legacy attn_kv_b, softmax, 2 shared
    # experts, extra keys of every value type
    dict(MICRO, name="micro_v2_f16", seed=5006, storage=gm.F16, version=2,
         L=2, n_dense=1, Lq=0, X=2, k=1, S=2, groups=None, gating=1, bias=False,
         norm=False, scale=1.0, eps=1e-5, base=10000.0,
         yarn=dict(factor=40.0, orig=1024, log_mul=0.0707), split=False, extra_kv=True),
    # BF16, alignment 64, odd head count, legacy layout
    dict(MICRO, name="micro_bf16_align64", seed=5007, storage=gm.BF16, alignment=64,
         L=2, n_dense=1, H=3, X=3, k=2, S=1, groups=(3, 2), gating=2, bias=True,
         norm=True, scale=2.5, base=10000.0, yarn=None, split=False),
    # Q8_0 everywhere but the norms/router (every Q8_0 row length a multiple of 32),
    # one MoE layer only, no group keys
    dict(MICRO, name="micro_q8_0", seed=5008, storage=gm.Q8_0, E=32, H=1, dn=32, dv=32,
         Lq=32, Lkv=32, F=32, Fe=32, L=1, n_dense=0, X=2, k=1, S=1, groups=None, gating=2,
         bias=True, norm=True, scale=2.5, base=10000.0, yarn=None, split=True),
]


def build(c):
    tensors = gm.to_gguf_tensors(c, gm.make_weights(c))
    kv = gm.metadata(c)
    w = gw.GGUFWriter(version=c["version"], alignment=c["alignment"],
                      write_alignment_key=c["align_key"] or c["alignment"] != 32)
    for key, kind, val in kv:
        if isinstance(kind, tuple):
            w.add_array(key, kind[1], val)
        else:
            getattr(w, "add_" + kind)(key, val)
    blobs = [w.add_tensor(n, a, t) for n, a, t in tensors]
    path = os.path.join(OUT_DIR, c["name"] + ".gguf")
    data = w.write(path)
    gm.check_file(c, path, kv, tensors, blobs, c["version"], c["alignment"])
    return data


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for c in SEEDS:
        data = build(c)
        print("%-22s %6d bytes" % (c["name"] + ".gguf", len(data)))
        if c["name"] == "micro_v3_f16":
            # the header alone (the tensor data cut off)
            g = GGUFFile(data)
            frag = data[:g.data_offset]
            with open(os.path.join(OUT_DIR, "header_only.gguf"), "wb") as f:
                f.write(frag)
            print("%-22s %6d bytes" % ("header_only.gguf", len(frag)))
    # a valid, empty GGUF v3 file: no keys, no tensors
    empty = b"GGUF" + struct.pack("<IQQ", 3, 0, 0)
    with open(os.path.join(OUT_DIR, "empty_v3.gguf"), "wb") as f:
        f.write(empty)
    print("%-22s %6d bytes" % ("empty_v3.gguf", len(empty)))


if __name__ == "__main__":
    main()
