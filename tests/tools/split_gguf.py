#!/usr/bin/env -S /usr/bin/python3
"""Splits a GGUF file into N parts the way llama.cpp's gguf-split lays them out
(gguf.md §1.4): NAME-00001-of-0000N.gguf ..., every part a complete GGUF file;
the first carries all the metadata, each part the split.no (u16, 0-based),
split.count (u16) and split.tensors.count (i32) keys and its share of the
tensors (whole tensors, in order).

    /usr/bin/python3 tests/tools/split_gguf.py IN.gguf OUT_PREFIX N

Used for tests/data/split/ (the split test model); deterministic.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gguf_writer as gw  # noqa: E402
from gguf_reader import GGUFFile  # noqa: E402


def split(src, prefix, n_parts):
    g = GGUFFile.read(src)
    names = list(g.tensors)
    per_part = (len(names) + n_parts - 1) // n_parts
    paths = []
    for part in range(n_parts):
        w = gw.GGUFWriter(version=3, alignment=32)
        if part == 0:
            for key, value in g.kv.items():
                if key in ("general.alignment",):
                    continue
                vtype, elem = g.kv_types[key]
                w._add(key, vtype, value, elem)
        w.add_u16("split.no", part)
        w.add_u16("split.count", n_parts)
        w.add_i32("split.tensors.count", len(names))
        for name in names[part * per_part:(part + 1) * per_part]:
            t = g.tensors[name]
            w.add_tensor_raw(name, t["ne"], t["type"], g.raw(name))
        path = "%s-%05d-of-%05d.gguf" % (prefix, part + 1, n_parts)
        w.write(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    for p in split(sys.argv[1], sys.argv[2], int(sys.argv[3])):
        print("wrote", p, os.path.getsize(p))
