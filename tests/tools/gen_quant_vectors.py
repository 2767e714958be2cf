#!/usr/bin/env -S /usr/bin/python3
"""Writes tests/data/quant_vectors.bin: random blocks of every supported ggml quant type
and the float32 values tests/tools/quant_ref.py decodes them to. Deterministic (seeded):
the output is identical byte for byte every run. Run with /usr/bin/python3 from anywhere:

    /usr/bin/python3 tests/tools/gen_quant_vectors.py [OUT]   # default tests/data/quant_vectors.bin

Blocks: every byte uniformly random, except the floating-point scale fields, which are
random finite *normal* values with a random sign and |x| in [1e-3, 1] (log-uniform, then
rounded to f16; Q8_K's d is an f32 with all 23 mantissa bits random), and Q8_K's bsums,
which are the sums of each 16 qs (as ggml fills them).

File format (little-endian):
    char magic[4] = "DSVQ"; u32 version = 1; u32 n_records;
    n_records x { u32 ggml_type_id; u32 n_elements; u32 n_bytes;
                  u8 blocks[n_bytes]; f32 values[n_elements] }
One record per type, in type-id order, N_BLOCKS blocks each.
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quant_ref as qr  # noqa: E402

SEED = 0xD5F3
N_BLOCKS = 8
MAGIC, VERSION = b"DSVQ", 1
TYPES = [qr.GGML_Q4_0, qr.GGML_Q4_1, qr.GGML_Q5_0, qr.GGML_Q5_1, qr.GGML_Q8_0,
         qr.GGML_Q2_K, qr.GGML_Q3_K, qr.GGML_Q4_K, qr.GGML_Q5_K, qr.GGML_Q6_K, qr.GGML_Q8_K,
         qr.GGML_IQ4_NL, qr.GGML_IQ4_XS]


def random_scale(rng, kind):
    """Random sign, |x| log-uniform in [1e-3, 1], as f16 or f32 bytes; always normal."""
    mag = 10.0 ** rng.uniform(-3.0, 0.0)
    x = -mag if rng.integers(0, 2) else mag
    if kind == "f16":
        h = np.float16(x)
        bits = int(np.frombuffer(h.tobytes(), "<u2")[0])
        assert 0 < (bits >> 10) & 0x1F < 31 and 1e-3 * (1 - 2 ** -11) <= abs(float(h)) <= 1.0
        return h.tobytes()
    # f32: take the value's sign/exponent and fully random mantissa bits
    bits = int(np.frombuffer(np.float32(x).tobytes(), "<u4")[0])
    bits = (bits & 0xFF800000) | int(rng.integers(0, 1 << 23))
    f = np.frombuffer(struct.pack("<I", bits), "<f4")[0]
    assert np.isfinite(f) and 0 < (bits >> 23) & 0xFF < 255 and 9e-4 < abs(float(f)) < 1.0
    return struct.pack("<I", bits)


def random_blocks(rng, ttype, n_blocks):
    _, nbytes = qr.TYPE_BLOCK[ttype]
    blk = rng.integers(0, 256, size=(n_blocks, nbytes), dtype=np.uint8)
    for b in range(n_blocks):
        for off, kind in qr.FLOAT_FIELDS[ttype].values():
            v = random_scale(rng, kind)
            blk[b, off:off + len(v)] = np.frombuffer(v, np.uint8)
        if ttype == qr.GGML_Q8_K:      # bsums consistent with qs
            qs = blk[b, 4:260].view(np.int8).astype(np.int64)
            bsums = qs.reshape(16, 16).sum(axis=1).astype("<i2")
            blk[b, 260:292] = np.frombuffer(bsums.tobytes(), np.uint8)
    return blk.tobytes()


def build():
    rng = np.random.default_rng(SEED)
    records = []
    for t in TYPES:
        raw = random_blocks(rng, t, N_BLOCKS)
        records.append((t, raw, qr.dequantize(t, raw)))
    out = bytearray(MAGIC + struct.pack("<II", VERSION, len(records)))
    for t, raw, vals in records:
        out += struct.pack("<III", t, vals.size, len(raw)) + raw
        out += vals.astype("<f4").tobytes()
    return bytes(out), records


def read(data):
    """Parse a quant_vectors.bin -> list of (type, raw bytes, float32 values)."""
    assert data[:4] == MAGIC, "bad magic"
    version, n = struct.unpack_from("<II", data, 4)
    assert version == VERSION
    pos, recs = 12, []
    for _ in range(n):
        t, ne, nb = struct.unpack_from("<III", data, pos)
        pos += 12
        raw = data[pos:pos + nb]
        pos += nb
        vals = np.frombuffer(data, "<f4", ne, pos)
        pos += 4 * ne
        recs.append((t, raw, vals))
    assert pos == len(data), "trailing bytes"
    return recs


def check(data, records):
    qr.self_test()
    back = read(data)
    assert [r[0] for r in back] == TYPES
    for (t, raw, vals), (t2, raw2, vals2) in zip(records, back):
        qk, nbytes = qr.TYPE_BLOCK[t]
        name = qr.TYPE_NAMES[t]
        assert t == t2 and raw == raw2 and len(raw) == N_BLOCKS * nbytes
        assert vals2.size == N_BLOCKS * qk
        assert np.array_equal(vals.view(np.uint32), vals2.view(np.uint32)), name
        assert np.all(np.isfinite(vals2)), name
        # the float64-then-round reference equals ggml's float32 evaluation order bit for bit
        assert np.array_equal(vals2.view(np.uint32),
                              qr.dequantize_f32_ggml_order(t, raw).view(np.uint32)), name
        # every integer quant value of the type's range occurs; every scale bit is seen 0 and 1
        A, q, B = qr.affine(t, raw)
        if t in (qr.GGML_IQ4_NL, qr.GGML_IQ4_XS):   # every table level occurs
            assert set(np.unique(q)) == set(qr.IQ4_LEVELS.tolist()), name
            if t == qr.GGML_IQ4_XS:   # every bit of the 6-bit scales is seen 0 and 1
                S = qr.unpack_iq4_xs_scales(np.frombuffer(raw, np.uint8).reshape(N_BLOCKS, nbytes))
                assert all(0 < ((S >> bit) & 1).sum() < S.size for bit in range(6)), name
            continue
        lo, hi = {2: (-8, 7), 3: (0, 15), 6: (-16, 15), 7: (0, 31), 8: (-128, 127),
                  10: (0, 3), 11: (-4, 3), 12: (0, 15), 13: (0, 31), 14: (-32, 31),
                  15: (-128, 127)}[t]
        assert lo <= q.min() and q.max() <= hi, name
        if hi - lo < 64:
            assert set(np.unique(q)) == set(range(lo, hi + 1)), name
        else:   # 8-bit quants: 256 samples cannot cover all values; every bit is seen both ways
            u = (q - lo).astype(np.int64)
            assert all(0 < ((u >> bit) & 1).sum() < u.size for bit in range(8)), name
        blk = np.frombuffer(raw, np.uint8).reshape(N_BLOCKS, nbytes)
        if t in (qr.GGML_Q4_K, qr.GGML_Q5_K):
            sc, mn = qr.unpack_k4_scales(blk[:, 4:16])
            for v in (sc, mn):
                assert all(0 < ((v >> bit) & 1).sum() < v.size for bit in range(6)), name
        if t == qr.GGML_Q3_K:
            S = qr.unpack_q3_k_scales(blk[:, 96:108])
            assert all(0 < ((S >> bit) & 1).sum() < S.size for bit in range(6)), name
        if t == qr.GGML_Q8_K:
            for b in range(N_BLOCKS):
                qs = blk[b, 4:260].view(np.int8).astype(np.int64)
                assert list(blk[b, 260:292].view("<i2")) == list(qs.reshape(16, 16).sum(1))


def check_gguf_py(records, path):
    """Optional second, independent reference: llama.cpp's gguf-py dequantizers
    (GGUF_PY=/path/to/llama.cpp/gguf-py). Must agree bit for bit."""
    sys.path.insert(0, path)
    from gguf import quants  # noqa: E402
    from gguf.constants import GGMLQuantizationType  # noqa: E402
    for t, raw, vals in records:
        qk, nbytes = qr.TYPE_BLOCK[t]
        blocks = np.frombuffer(raw, np.uint8).reshape(-1, nbytes)
        try:
            theirs = quants.dequantize(blocks, GGMLQuantizationType(t)).astype(np.float32).reshape(-1)
        except NotImplementedError:   # Q8_K: an activation type gguf-py does not decode
            print("gguf-py cannot decode %s; skipped" % qr.TYPE_NAMES[t])
            continue
        assert np.array_equal(theirs.view(np.uint32), vals.view(np.uint32)), qr.TYPE_NAMES[t]
    print("gguf-py agrees bit for bit on every record")


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "quant_vectors.bin")
    data, records = build()
    assert data == build()[0], "not deterministic"
    check(data, records)
    if os.environ.get("GGUF_PY"):
        check_gguf_py(records, os.environ["GGUF_PY"])
    with open(path, "wb") as f:
        f.write(data)
    print("wrote %s: %d bytes, %d records (%s), %d blocks each"
          % (path, len(data), len(records), " ".join(qr.TYPE_NAMES[t] for t in TYPES), N_BLOCKS))


if __name__ == "__main__":
    main()
