#!/usr/bin/env -S /usr/bin/python3
"""Writes tests/data/iq_vectors.bin: blocks of the lattice-grid IQ types and the float32
values llama.cpp's gguf-py decodes them to (an implementation independent of dsv3.c's).
Same record format as quant_vectors.bin (see gen_quant_vectors.py). Deterministic
(seeded). Dev-time only, needs numpy and gguf-py:

    GGUF_PY=/path/to/llama.cpp/gguf-py /usr/bin/python3 tests/tools/gen_iq_vectors.py [OUT]

The blocks are built so that together (per type) they use every grid entry, every
7-bit sign index and every scale value at least once, so the C decoder's grid is checked entry by
entry; the f16 scales are random normal values (gen_quant_vectors.random_scale).
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_quant_vectors as gv  # noqa: E402

SEED = 0x1A2B
GGML_IQ2_XXS, GGML_IQ2_XS, GGML_IQ3_XXS, GGML_IQ1_S, GGML_IQ1_M = 16, 17, 18, 19, 29
GGML_IQ3_S, GGML_IQ2_S = 21, 22
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


def iq2_xs_blocks(rng):
    """16 blocks x 32 u16 words: grid indices a permutation of 0..511, sign indices
    0..127 four times; 16 x 8 scale bytes holding every 4-bit scale 16 times."""
    grid = rng.permutation(512)
    signs = rng.permutation(np.tile(np.arange(128), 4))
    scales = rng.permutation(np.tile(np.arange(16), 16))
    out = bytearray()
    for b in range(16):
        out += gv.random_scale(rng, "f16")
        for k in range(32):
            out += struct.pack("<H", int(grid[32 * b + k]) | int(signs[32 * b + k]) << 9)
        out += bytes(int(scales[16 * b + 2 * j]) | int(scales[16 * b + 2 * j + 1]) << 4 for j in range(8))
    assert len(out) == 16 * 74
    return bytes(out)


def iq1_blocks(rng, medium):
    """64 blocks x 32 grid indices: a permutation of 0..2047; random 3-bit scales and
    delta signs (each value of both occurs)."""
    grid = rng.permutation(2048)
    out = bytearray()
    for b in range(64):
        idx = grid[32 * b:32 * b + 32]
        d = gv.random_scale(rng, "f16")
        minus = rng.integers(0, 2, size=32 if medium else 8)
        scales = rng.integers(0, 8, size=16 if medium else 8)
        if not medium:
            out += d + bytes(int(v) & 255 for v in idx)
            for g in range(8):
                high = sum((int(idx[4 * g + l]) >> 8) << (3 * l) for l in range(4))
                out += struct.pack("<H", high | int(scales[g]) << 12 | int(minus[g]) << 15)
        else:
            out += bytes(int(v) & 255 for v in idx)
            nib = [(int(idx[k]) >> 8) | int(minus[k]) << 3 for k in range(32)]
            out += bytes(nib[2 * j] | nib[2 * j + 1] << 4 for j in range(16))
            dbits = struct.unpack("<H", d)[0]
            for j in range(4):
                word = sum(int(scales[4 * j + i]) << (3 * i) for i in range(4)) | ((dbits >> (4 * j)) & 15) << 12
                out += struct.pack("<H", word)
    assert len(out) == 64 * (56 if medium else 50)
    return bytes(out)


def iq_s_blocks(rng, three):
    """IQ2_S: 32 blocks x 32 grid entries (a permutation of 0..1023); IQ3_S: 8 blocks x
    64 entries (a permutation of 0..511). Random sign bytes; every 4-bit scale."""
    n_entries, per_block = (512, 64) if three else (1024, 32)
    n_blocks = n_entries // per_block
    grid = rng.permutation(n_entries)
    scales = rng.permutation(np.tile(np.arange(16), (n_blocks * (8 if three else 16)) // 16))
    out = bytearray()
    for b in range(n_blocks):
        idx = grid[per_block * b:per_block * (b + 1)]
        out += gv.random_scale(rng, "f16") + bytes(int(v) & 255 for v in idx)
        if three:
            out += bytes(sum(((int(idx[8 * g + e]) >> 8) & 1) << e for e in range(8)) for g in range(8))
            out += bytes(int(v) for v in rng.integers(0, 256, size=32))
            sc = scales[8 * b:8 * b + 8]
            out += bytes(int(sc[2 * j]) | int(sc[2 * j + 1]) << 4 for j in range(4))
        else:
            out += bytes(int(v) for v in rng.integers(0, 256, size=32))
            out += bytes(sum(((int(idx[4 * g + l]) >> 8) & 3) << (2 * l) for l in range(4)) for g in range(8))
            sc = scales[16 * b:16 * b + 16]
            out += bytes(int(sc[2 * j]) | int(sc[2 * j + 1]) << 4 for j in range(8))
    assert len(out) == n_blocks * (110 if three else 82)
    return bytes(out)


def build():
    sys.path.insert(0, os.environ["GGUF_PY"])
    from gguf import quants  # noqa: E402
    from gguf.constants import GGMLQuantizationType  # noqa: E402
    rng = np.random.default_rng(SEED)
    records = []
    for t, make, nbytes in [(GGML_IQ2_XXS, iq2_xxs_blocks, 66), (GGML_IQ3_XXS, iq3_xxs_blocks, 98),
                            (GGML_IQ2_XS, iq2_xs_blocks, 74), (GGML_IQ1_S, lambda r: iq1_blocks(r, False), 50),
                            (GGML_IQ1_M, lambda r: iq1_blocks(r, True), 56),
                            (GGML_IQ2_S, lambda r: iq_s_blocks(r, False), 82),
                            (GGML_IQ3_S, lambda r: iq_s_blocks(r, True), 110)]:
        raw = make(rng)
        blocks = np.frombuffer(raw, np.uint8).reshape(-1, nbytes)
        vals = quants.dequantize(blocks, GGMLQuantizationType(t)).astype(np.float32).reshape(-1)
        assert vals.size == blocks.shape[0] * 256 and np.all(np.isfinite(vals))
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
