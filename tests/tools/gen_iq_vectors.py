#!/usr/bin/env -S /usr/bin/python3
"""Writes tests/data/iq_vectors.bin: blocks of the lattice-grid IQ types and the float32
values llama.cpp's gguf-py decodes them to (an implementation independent of dsv3.c's).
Same record format as quant_vectors.bin (see gen_quant_vectors.py). Deterministic
(seeded). Dev-time only, needs numpy and gguf-py:

    GGUF_PY=/path/to/llama.cpp/gguf-py /usr/bin/python3 tests/tools/gen_iq_vectors.py [OUT]

The blocks are built so that together they use every grid entry, every 7-bit sign
index and every 4-bit scale at least once, so the C decoder's grid is checked entry by
entry; the f16 scales are random normal values (gen_quant_vectors.random_scale).
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_quant_vectors as gv  # noqa: E402

SEED = 0x1A2B
GGML_IQ2_XXS, GGML_IQ3_XXS = 16, 18
N_BLOCKS = 8


def iq2_xxs_blocks(rng):
    """8 blocks x 8 groups of 32: 256 grid-index slots (a permutation of 0..255),
    256 sign slots (0..127 twice, shuffled), 64 scale slots (0..15 four times)."""
    grid = rng.permutation(256)
    signs = rng.permutation(np.concatenate([np.arange(128), np.arange(128)]))
    scales = rng.permutation(np.tile(np.arange(16), 4))
    out = bytearray()
    for b in range(N_BLOCKS):
        out += gv.random_scale(rng, "f16")
        for g in range(8):
            k = 8 * b + g
            indices = bytes(int(grid[4 * k + l]) for l in range(4))
            aux = sum(int(signs[4 * k + l]) << (7 * l) for l in range(4)) | int(scales[k]) << 28
            out += indices + struct.pack("<I", aux)
    assert len(out) == N_BLOCKS * 66
    return bytes(out)


def iq3_xxs_blocks(rng):
    """8 blocks x 64 grid indices (0..255 twice, shuffled), then per 32 elements a u32 of
    four sign indices (0..127 twice over all) and a scale (0..15 four times)."""
    grid = rng.permutation(np.concatenate([np.arange(256), np.arange(256)]))
    signs = rng.permutation(np.concatenate([np.arange(128), np.arange(128)]))
    scales = rng.permutation(np.tile(np.arange(16), 4))
    out = bytearray()
    for b in range(N_BLOCKS):
        out += gv.random_scale(rng, "f16")
        out += bytes(int(v) for v in grid[64 * b:64 * b + 64])
        for g in range(8):
            k = 8 * b + g
            aux = sum(int(signs[4 * k + l]) << (7 * l) for l in range(4)) | int(scales[k]) << 28
            out += struct.pack("<I", aux)
    assert len(out) == N_BLOCKS * 98
    return bytes(out)


def build():
    sys.path.insert(0, os.environ["GGUF_PY"])
    from gguf import quants  # noqa: E402
    from gguf.constants import GGMLQuantizationType  # noqa: E402
    rng = np.random.default_rng(SEED)
    records = []
    for t, make, nbytes in [(GGML_IQ2_XXS, iq2_xxs_blocks, 66), (GGML_IQ3_XXS, iq3_xxs_blocks, 98)]:
        raw = make(rng)
        blocks = np.frombuffer(raw, np.uint8).reshape(-1, nbytes)
        vals = quants.dequantize(blocks, GGMLQuantizationType(t)).astype(np.float32).reshape(-1)
        assert vals.size == N_BLOCKS * 256 and np.all(np.isfinite(vals))
        records.append((t, raw, vals))
    out = bytearray(gv.MAGIC + struct.pack("<II", gv.VERSION, len(records)))
    for t, raw, vals in records:
        out += struct.pack("<III", t, vals.size, len(raw)) + raw + vals.astype("<f4").tobytes()
    return bytes(out)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "iq_vectors.bin")
    data = build()
    assert data == build(), "not deterministic"
    with open(path, "wb") as f:
        f.write(data)
    print("wrote %s: %d bytes" % (path, len(data)))


if __name__ == "__main__":
    main()
