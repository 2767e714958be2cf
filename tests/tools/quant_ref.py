#!/usr/bin/env -S /usr/bin/python3
"""numpy reference dequantizers for the ggml block-quantized types dsv3 supports.

Written from /work/shared/reference/gguf.md §2-3 and checked against the block
structs / dequantize_row_* formulas of ggml's public source (they agree).
Needs numpy; run with /usr/bin/python3.

    y = dequantize(GGML_Q4_K, raw_bytes)       # float32 array, len = n_blocks*256

Every decoder first turns the blocks into an affine form per element,

    y = A * q - B          (A, B exact float64 values, q an integer)

with A = d*scale and B = dmin*min (Q4_1/Q5_1: B = -m; types without a min: B = 0).
A, B and A*q are exact in float64 (f16 has 11 significant bits, scales <= 8 bits,
quants <= 8 bits), so y is computed exactly and rounded to float32 once.
ggml evaluates the same expression in float32 (dl = d*sc; ml = dmin*m; y = dl*q - ml).
There dl and ml are exact, and so is dl*q whenever a min follows (<= 22 significant
bits); only the last operation rounds (Q6_K's and Q8_K's product, or the
subtraction), so its result is that same single rounding: the
values here equal ggml's bit for bit, whatever the evaluation order or FMA use, as
long as d/dmin are normal f16 values (``affine_f32`` / the self-test check this).

`python quant_ref.py` runs the self-test (known-answer tests + pack/decode round trips).
"""
import struct
import sys

import numpy as np

# ---- type ids and block geometry (gguf.md §2) ---------------------------------
GGML_Q4_0, GGML_Q4_1, GGML_Q5_0, GGML_Q5_1, GGML_Q8_0 = 2, 3, 6, 7, 8
GGML_Q2_K, GGML_Q3_K, GGML_Q4_K, GGML_Q5_K, GGML_Q6_K, GGML_Q8_K = 10, 11, 12, 13, 14, 15
GGML_IQ4_NL, GGML_IQ4_XS = 20, 23

# IQ4_NL / IQ4_XS levels: the fixed non-linear table of the format (ggml-common.h
# kvalues_iq4nl; gguf-py quants.py IQ4_NL.kvalues)
IQ4_LEVELS = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113],
                      dtype=np.int64)

TYPE_NAMES = {
    GGML_Q4_0: "Q4_0", GGML_Q4_1: "Q4_1", GGML_Q5_0: "Q5_0", GGML_Q5_1: "Q5_1",
    GGML_Q8_0: "Q8_0", GGML_Q2_K: "Q2_K", GGML_Q3_K: "Q3_K", GGML_Q4_K: "Q4_K",
    GGML_Q5_K: "Q5_K", GGML_Q6_K: "Q6_K", GGML_Q8_K: "Q8_K", GGML_IQ4_NL: "IQ4_NL",
    GGML_IQ4_XS: "IQ4_XS",
}
# (elements per block, bytes per block)
TYPE_BLOCK = {
    GGML_Q4_0: (32, 18), GGML_Q4_1: (32, 20), GGML_Q5_0: (32, 22), GGML_Q5_1: (32, 24),
    GGML_Q8_0: (32, 34), GGML_Q2_K: (256, 84), GGML_Q3_K: (256, 110),
    GGML_Q4_K: (256, 144), GGML_Q5_K: (256, 176), GGML_Q6_K: (256, 210),
    GGML_Q8_K: (256, 292), GGML_IQ4_NL: (32, 18), GGML_IQ4_XS: (256, 136),
}
# byte offsets of the floating-point scale fields inside a block: name -> (offset, kind)
# kind "f16" = IEEE binary16, "f32" = IEEE binary32 (Q8_K only)
FLOAT_FIELDS = {
    GGML_Q4_0: {"d": (0, "f16")},
    GGML_Q4_1: {"d": (0, "f16"), "m": (2, "f16")},
    GGML_Q5_0: {"d": (0, "f16")},
    GGML_Q5_1: {"d": (0, "f16"), "m": (2, "f16")},
    GGML_Q8_0: {"d": (0, "f16")},
    GGML_Q2_K: {"d": (80, "f16"), "dmin": (82, "f16")},
    GGML_Q3_K: {"d": (108, "f16")},
    GGML_Q4_K: {"d": (0, "f16"), "dmin": (2, "f16")},
    GGML_Q5_K: {"d": (0, "f16"), "dmin": (2, "f16")},
    GGML_Q6_K: {"d": (208, "f16")},
    GGML_Q8_K: {"d": (0, "f32")},
    GGML_IQ4_NL: {"d": (0, "f16")},
    GGML_IQ4_XS: {"d": (0, "f16")},
}


# ---- helpers -------------------------------------------------------------------
def _blocks(ttype, raw):
    """raw bytes -> uint8 array [n_blocks, bytes_per_block]."""
    _, nbytes = TYPE_BLOCK[ttype]
    b = np.frombuffer(bytes(raw), dtype=np.uint8)
    if b.size % nbytes:
        raise ValueError("%s: %d bytes is not a whole number of %d-byte blocks"
                         % (TYPE_NAMES[ttype], b.size, nbytes))
    return b.reshape(-1, nbytes)


def _f16(blk, off):
    """f16 at byte offset off of every block -> float64 column [nb, 1] (exact)."""
    return blk[:, off:off + 2].copy().view("<f2").astype(np.float64)


def _f32(blk, off):
    return blk[:, off:off + 4].copy().view("<f4").astype(np.float64)


def _i(a):
    """uint8 -> int64 so shifts / subtractions cannot wrap."""
    return a.astype(np.int64)


# ---- per-type decoders to the affine form (A, q, B): y = A*q - B ----------------
# Each returns float64 A [nb, QK], int64 q [nb, QK], float64 B [nb, QK] (broadcastable).

def _affine_q4_0(blk):
    # d:f16 | qs:u8[16]; y[j] = d*((qs[j]&15)-8), y[j+16] = d*((qs[j]>>4)-8)
    d = _f16(blk, 0)
    qs = _i(blk[:, 2:18])
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1) - 8
    return d, q, 0.0


def _affine_q4_1(blk):
    # d:f16 m:f16 | qs:u8[16]; y = d*q + m
    d, m = _f16(blk, 0), _f16(blk, 2)
    qs = _i(blk[:, 4:20])
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1)
    return d, q, -m


def _q5_quants(qh_bytes, qs_bytes):
    """5-bit quants 0..31 of a Q5_0/Q5_1 block: h = qh as little-endian u32,
    q[j] = lo nibble | bit j of h << 4, q[j+16] = hi nibble | bit (j+16) of h << 4."""
    qh = _i(qh_bytes)
    h = qh[:, 0] | (qh[:, 1] << 8) | (qh[:, 2] << 16) | (qh[:, 3] << 24)
    qs = _i(qs_bytes)
    j = np.arange(16)
    lo = (qs & 0xF) | (((h[:, None] >> j) & 1) << 4)
    hi = (qs >> 4) | (((h[:, None] >> (j + 16)) & 1) << 4)
    return np.concatenate([lo, hi], axis=1)


def _affine_q5_0(blk):
    # d:f16 | qh:u8[4] | qs:u8[16]; y = d*(q-16)
    d = _f16(blk, 0)
    return d, _q5_quants(blk[:, 2:6], blk[:, 6:22]) - 16, 0.0


def _affine_q5_1(blk):
    # d:f16 m:f16 | qh:u8[4] | qs:u8[16]; y = d*q + m
    d, m = _f16(blk, 0), _f16(blk, 2)
    return d, _q5_quants(blk[:, 4:8], blk[:, 8:24]), -m


def _affine_q8_0(blk):
    # d:f16 | qs:i8[32]; y = d*qs
    d = _f16(blk, 0)
    return d, blk[:, 2:34].view(np.int8).astype(np.int64), 0.0


# K-quant element index decomposition shared by Q2_K / Q3_K: i = 128n + 32j + 16k + l
_I256 = np.arange(256)
_N, _J, _K, _L = _I256 // 128, (_I256 // 32) % 4, (_I256 // 16) % 2, _I256 % 16


def _affine_q2_k(blk):
    # scales:u8[16] | qs:u8[64] | d:f16 | dmin:f16
    scales, qs = _i(blk[:, 0:16]), _i(blk[:, 16:80])
    d, dmin = _f16(blk, 80), _f16(blk, 82)
    q = (qs[:, 32 * _N + 16 * _K + _L] >> (2 * _J)) & 3
    sub = scales[:, 8 * _N + 2 * _J + _K]
    return d * (sub & 0xF), q, dmin * (sub >> 4)


def unpack_q3_k_scales(s):
    """12 packed bytes [nb, 12] -> sixteen 6-bit values S[0..15] (unsigned, 0..63)."""
    s = _i(s)
    i = np.arange(16)
    low = np.where(i < 8, s[:, i % 8] & 0xF, s[:, i % 8] >> 4)  # i>=8: s[i-8] >> 4
    high = (s[:, 8 + i % 4] >> (2 * (i // 4))) & 3
    return low | (high << 4)


def _affine_q3_k(blk):
    # hmask:u8[32] | qs:u8[64] | scales:u8[12] | d:f16
    hmask, qs = _i(blk[:, 0:32]), _i(blk[:, 32:96])
    S = unpack_q3_k_scales(blk[:, 96:108])
    d = _f16(blk, 108)
    low2 = (qs[:, 32 * _N + 16 * _K + _L] >> (2 * _J)) & 3
    hbit = (hmask[:, 16 * _K + _L] >> (4 * _N + _J)) & 1
    q = low2 - 4 * (1 - hbit)                       # -4..3
    return d * (S[:, 8 * _N + 2 * _J + _K] - 32), q, 0.0


def unpack_k4_scales(s):
    """Q4_K/Q5_K 12 packed bytes [nb, 12] -> (sc [nb, 8], mn [nb, 8]), 6 bits each."""
    s = _i(s)
    sc = np.empty((s.shape[0], 8), dtype=np.int64)
    mn = np.empty_like(sc)
    for t in range(8):
        if t < 4:
            sc[:, t] = s[:, t] & 63
            mn[:, t] = s[:, t + 4] & 63
        else:
            sc[:, t] = (s[:, t + 4] & 0xF) | ((s[:, t - 4] >> 6) << 4)
            mn[:, t] = (s[:, t + 4] >> 4) | ((s[:, t] >> 6) << 4)
    return sc, mn


# Q4_K / Q5_K element index: i = 64c + 32h + l (chunk c 0..3, half h 0..1, l 0..31);
# sub-block 2c+h; quant byte qs[32c + l], nibble h.
_C, _H, _LL = _I256 // 64, (_I256 // 32) % 2, _I256 % 32


def _affine_q4_k(blk):
    # d:f16 dmin:f16 | scales:u8[12] | qs:u8[128]
    d, dmin = _f16(blk, 0), _f16(blk, 2)
    sc, mn = unpack_k4_scales(blk[:, 4:16])
    qs = _i(blk[:, 16:144])
    q = (qs[:, 32 * _C + _LL] >> (4 * _H)) & 0xF
    sub = 2 * _C + _H
    return d * sc[:, sub], q, dmin * mn[:, sub]


def _affine_q5_k(blk):
    # d:f16 dmin:f16 | scales:u8[12] | qh:u8[32] | qs:u8[128]
    d, dmin = _f16(blk, 0), _f16(blk, 2)
    sc, mn = unpack_k4_scales(blk[:, 4:16])
    qh, qs = _i(blk[:, 16:48]), _i(blk[:, 48:176])
    sub = 2 * _C + _H
    q = ((qs[:, 32 * _C + _LL] >> (4 * _H)) & 0xF) + ((qh[:, _LL] >> sub) & 1) * 16
    return d * sc[:, sub], q, dmin * mn[:, sub]


def _affine_q6_k(blk):
    # ql:u8[128] | qh:u8[64] | scales:i8[16] | d:f16
    # i = 128n + 32g + l (n 0..1, g 0..3, l 0..31):
    #   low 4 bits  = nibble (g // 2) of ql[64n + 32*(g % 2) + l]
    #   high 2 bits = (qh[32n + l] >> 2g) & 3
    #   scale       = scales[8n + l//16 + 2g];  q = (low | high << 4) - 32
    ql, qh = _i(blk[:, 0:128]), _i(blk[:, 128:192])
    scales = blk[:, 192:208].view(np.int8).astype(np.int64)
    d = _f16(blk, 208)
    n, g, l = _I256 // 128, (_I256 // 32) % 4, _I256 % 32
    low = (ql[:, 64 * n + 32 * (g % 2) + l] >> (4 * (g // 2))) & 0xF
    high = (qh[:, 32 * n + l] >> (2 * g)) & 3
    q = (low | (high << 4)) - 32
    return d * scales[:, 8 * n + l // 16 + 2 * g], q, 0.0


def _affine_q8_k(blk):
    # d:f32 | qs:i8[256] | bsums:i16[16] (bsums are not needed to dequantize)
    d = _f32(blk, 0)
    return d, blk[:, 4:260].view(np.int8).astype(np.int64), 0.0


def _iq4_levels(qs):
    # 16 index bytes -> 32 levels: low nibbles are elements 0-15, high nibbles 16-31
    return IQ4_LEVELS[np.concatenate([qs & 0xF, qs >> 4], axis=1)]


def _affine_iq4_nl(blk):
    # d:f16 | qs:u8[16]; y = d * table[index]
    return _f16(blk, 0), _iq4_levels(_i(blk[:, 2:18])), 0.0


def unpack_iq4_xs_scales(blk):
    # scales_h:u16 at byte 2 (bits 2s..2s+1) | scales_l:u8[4] at byte 4 (nibble s%2 of byte s/2)
    # -> 8 six-bit stored values per block (the scale is stored - 32)
    high = blk[:, 2:4].copy().view("<u2").astype(np.int64)
    low = _i(blk[:, 4:8])
    s = np.arange(8)
    return ((low[:, s // 2] >> (4 * (s % 2))) & 0xF) | (((high >> (2 * s)) & 3) << 4)


def _affine_iq4_xs(blk):
    # d:f16 | scales_h:u16 | scales_l:u8[4] | qs:u8[128] (16 per 32-element sub-block)
    d = _f16(blk, 0)
    scale = unpack_iq4_xs_scales(blk) - 32                      # [nb, 8]
    A = np.repeat(d * scale, 32, axis=1)
    q = np.concatenate([_iq4_levels(_i(blk[:, 8 + 16 * s:24 + 16 * s])) for s in range(8)], axis=1)
    return A, q, 0.0


_AFFINE = {
    GGML_Q4_0: _affine_q4_0, GGML_Q4_1: _affine_q4_1, GGML_Q5_0: _affine_q5_0,
    GGML_Q5_1: _affine_q5_1, GGML_Q8_0: _affine_q8_0, GGML_Q2_K: _affine_q2_k,
    GGML_Q3_K: _affine_q3_k, GGML_Q4_K: _affine_q4_k, GGML_Q5_K: _affine_q5_k,
    GGML_Q6_K: _affine_q6_k, GGML_Q8_K: _affine_q8_k, GGML_IQ4_NL: _affine_iq4_nl,
    GGML_IQ4_XS: _affine_iq4_xs,
}


def affine(ttype, raw):
    """(A, q, B) float64/int64/float64 arrays of shape [n_blocks, QK], y = A*q - B."""
    qk, _ = TYPE_BLOCK[ttype]
    A, q, B = _AFFINE[ttype](_blocks(ttype, raw))
    shape = q.shape
    assert shape[1] == qk
    return (np.broadcast_to(A, shape).astype(np.float64), q,
            np.broadcast_to(np.asarray(B, dtype=np.float64), shape).astype(np.float64))


def dequantize(ttype, raw):
    """Reference dequantization: exact float64 value of A*q - B rounded once to float32.
    Returns a flat float32 array of n_blocks * QK values."""
    A, q, B = affine(ttype, raw)
    return (A * q - B).astype(np.float32).reshape(-1)


def dequantize_f32_ggml_order(ttype, raw):
    """The same values evaluated the way ggml's scalar C code does, one float32 op at a
    time: dl = d*sc (A), ml = dmin*m (B), y = dl*q - ml.  A and B are exact in float32
    for normal f16 inputs (asserted), so this differs from dequantize() only if a
    product were inexact -- used to show the two agree bit for bit."""
    A, q, B = affine(ttype, raw)
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    assert np.array_equal(A32.astype(np.float64), A) and np.array_equal(B32.astype(np.float64), B)
    with np.errstate(over="ignore", invalid="ignore"):
        y = A32 * q.astype(np.float32) - B32     # float32 ops, each rounded
    return y.astype(np.float32).reshape(-1)


# ---- packers (inverse of the layouts; plain loops, used by the self-test) -------------
def _h(x):
    return np.float16(x).tobytes()


def pack_q4_0(d, q):          # q: 32 ints in -8..7
    qs = bytes(((q[j] + 8) & 0xF) | (((q[j + 16] + 8) & 0xF) << 4) for j in range(16))
    return _h(d) + qs


def pack_q4_1(d, m, q):       # q: 32 ints in 0..15
    return _h(d) + _h(m) + bytes(q[j] | (q[j + 16] << 4) for j in range(16))


def _pack_q5(q):              # q: 32 ints in 0..31 -> qh (4 bytes) + qs (16 bytes)
    h = 0
    for j in range(32):
        h |= ((q[j] >> 4) & 1) << j
    qs = bytes((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4) for j in range(16))
    return struct.pack("<I", h) + qs


def pack_q5_0(d, q):          # q: -16..15
    return _h(d) + _pack_q5([v + 16 for v in q])


def pack_q5_1(d, m, q):       # q: 0..31
    return _h(d) + _h(m) + _pack_q5(q)


def pack_q8_0(d, q):          # q: -128..127
    return _h(d) + struct.pack("<32b", *q)


def pack_q2_k(d, dmin, sc, mn, q):   # sc, mn: 16 ints 0..15; q: 256 ints 0..3
    scales = bytes(sc[t] | (mn[t] << 4) for t in range(16))
    qs = bytearray(64)
    for i in range(256):
        n, j, k, l = i // 128, (i // 32) % 4, (i // 16) % 2, i % 16
        qs[32 * n + 16 * k + l] |= q[i] << (2 * j)
    return scales + bytes(qs) + _h(d) + _h(dmin)


def pack_q3_k(d, S, q):       # S: 16 ints 0..63 (signed scale = S-32); q: 256 ints -4..3
    hmask, qs, s = bytearray(32), bytearray(64), bytearray(12)
    for i in range(256):
        n, j, k, l = i // 128, (i // 32) % 4, (i // 16) % 2, i % 16
        u = q[i] + 4                  # 0..7: bit 2 = hmask bit, bits 0-1 = low2
        qs[32 * n + 16 * k + l] |= (u & 3) << (2 * j)
        if u & 4:
            hmask[16 * k + l] |= 1 << (4 * n + j)
    for t in range(16):
        low, high = S[t] & 0xF, S[t] >> 4
        if t < 8:
            s[t] |= low
        else:
            s[t - 8] |= low << 4
        s[8 + t % 4] |= high << (2 * (t // 4))
    return bytes(hmask) + bytes(qs) + bytes(s) + _h(d)


def _pack_k4_scales(sc, mn):  # 8 + 8 six-bit values -> 12 bytes
    s = bytearray(12)
    for t in range(8):
        if t < 4:
            s[t] |= sc[t] & 63
            s[t + 4] |= mn[t] & 63
        else:
            s[t + 4] |= (sc[t] & 0xF) | ((mn[t] & 0xF) << 4)
            s[t - 4] |= (sc[t] >> 4) << 6
            s[t] |= (mn[t] >> 4) << 6
    return bytes(s)


def pack_q4_k(d, dmin, sc, mn, q):   # sc, mn: 8 ints 0..63; q: 256 ints 0..15
    qs = bytearray(128)
    for i in range(256):
        c, h, l = i // 64, (i // 32) % 2, i % 32
        qs[32 * c + l] |= q[i] << (4 * h)
    return _h(d) + _h(dmin) + _pack_k4_scales(sc, mn) + bytes(qs)


def pack_q5_k(d, dmin, sc, mn, q):   # q: 256 ints 0..31
    qh, qs = bytearray(32), bytearray(128)
    for i in range(256):
        c, h, l = i // 64, (i // 32) % 2, i % 32
        qs[32 * c + l] |= (q[i] & 0xF) << (4 * h)
        qh[l] |= (q[i] >> 4) << (2 * c + h)
    return _h(d) + _h(dmin) + _pack_k4_scales(sc, mn) + bytes(qh) + bytes(qs)


def pack_q6_k(d, sc, q):      # sc: 16 ints -128..127; q: 256 ints -32..31
    ql, qh = bytearray(128), bytearray(64)
    for i in range(256):
        n, g, l = i // 128, (i // 32) % 4, i % 32
        u = q[i] + 32
        ql[64 * n + 32 * (g % 2) + l] |= (u & 0xF) << (4 * (g // 2))
        qh[32 * n + l] |= (u >> 4) << (2 * g)
    return bytes(ql) + bytes(qh) + struct.pack("<16b", *sc) + _h(d)


def pack_q8_k(d, q):          # d: float32; q: 256 ints -128..127; bsums = sums of 16
    bsums = [sum(q[16 * t:16 * t + 16]) for t in range(16)]
    return struct.pack("<f", d) + struct.pack("<256b", *q) + struct.pack("<16h", *bsums)


# ---- self-test -------------------------------------------------------------------
def _known_answer_tests():
    """Blocks written byte by byte with values worked out by hand."""
    # IQ4_XS: d = 0.5 (0x3800). Stored sub-block scales 33, 31, then 32 (scales 1, -1, 0):
    # low nibbles 1, 15, 0... -> scales_l = F1 00 00 00; high bit pairs 2, 1, 2, 2, ... -> scales_h.
    # Sub-block 0 indices j | (15-j) << 4 -> y[j] = 0.5*T[j], y[16+j] = 0.5*T[15-j];
    # sub-block 1 bytes 0x80 -> y[32+j] = -0.5*T[0] = 63.5, y[48+j] = -0.5*T[8] = -0.5; rest 0.
    T = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
    high = sum((v >> 4) << (2 * i) for i, v in enumerate([33, 31, 32, 32, 32, 32, 32, 32]))
    blk = (bytes([0x00, 0x38]) + struct.pack("<H", high) + bytes([0xF1, 0, 0, 0]) +
           bytes(j | (15 - j) << 4 for j in range(16)) + bytes([0x80] * 16) + bytes([0x11] * 96))
    want = [0.5 * T[j] for j in range(16)] + [0.5 * T[15 - j] for j in range(16)]
    want += [63.5] * 16 + [-0.5] * 16 + [0.0] * 192
    assert np.array_equal(dequantize(GGML_IQ4_XS, blk), np.array(want, dtype=np.float32)), "IQ4_XS KAT"
    # IQ4_NL: d = -2 (0xC000), bytes j | (15-j) << 4 -> y[j] = -2*T[j], y[16+j] = -2*T[15-j]
    blk = bytes([0x00, 0xC0]) + bytes(j | (15 - j) << 4 for j in range(16))
    want = [-2.0 * T[j] for j in range(16)] + [-2.0 * T[15 - j] for j in range(16)]
    assert np.array_equal(dequantize(GGML_IQ4_NL, blk), np.array(want, dtype=np.float32)), "IQ4_NL KAT"

    # Q4_0: d = 0.5 (f16 0x3800). qs[0] = 0x9F: lo nibble 15 -> y[0] = 0.5*(15-8) = 3.5,
    # hi nibble 9 -> y[16] = 0.5*(9-8) = 0.5. qs[1] = 0x08: y[1] = 0, y[17] = 0.5*(0-8) = -4.
    # qs[15] = 0x70: y[15] = -4, y[31] = -0.5. All other qs = 0x88 -> 0.
    qs = bytearray([0x88] * 16)
    qs[0], qs[1], qs[15] = 0x9F, 0x08, 0x70
    blk = bytes([0x00, 0x38]) + bytes(qs)
    want = np.zeros(32, dtype=np.float32)
    want[0], want[16], want[1], want[17], want[15], want[31] = 3.5, 0.5, 0, -4, -4, -0.5
    assert np.array_equal(dequantize(GGML_Q4_0, blk), want), "Q4_0 KAT"
    # second Q4_0 block with d = -2 (f16 0xC000) and qs[j] = j | (15-j) << 4:
    # y[j] = -2*(j-8), y[j+16] = -2*(7-j)
    blk2 = bytes([0x00, 0xC0]) + bytes(j | ((15 - j) << 4) for j in range(16))
    want2 = np.array([-2.0 * (j - 8) for j in range(16)] + [-2.0 * (7 - j) for j in range(16)],
                     dtype=np.float32)
    assert np.array_equal(dequantize(GGML_Q4_0, blk + blk2), np.concatenate([want, want2])), \
        "Q4_0 KAT (2 blocks)"

    # Q8_0: d = 0.25 (f16 0x3400), qs = -128, 127, -1, 0, 1, 5, 0, 0, ... -> d*qs
    q8 = [-128, 127, -1, 0, 1, 5] + [0] * 25 + [-7]
    blk = bytes([0x00, 0x34]) + bytes(v & 0xFF for v in q8)
    want = np.array([-32.0, 31.75, -0.25, 0, 0.25, 1.25] + [0] * 25 + [-1.75], dtype=np.float32)
    assert np.array_equal(dequantize(GGML_Q8_0, blk), want), "Q8_0 KAT"
    # d = 1.5 (0x3E00) with a non-trivial mantissa; qs[j] = j - 16 -> 1.5*(j-16)
    blk = bytes([0x00, 0x3E]) + bytes((j - 16) & 0xFF for j in range(32))
    assert np.array_equal(dequantize(GGML_Q8_0, blk),
                          np.array([1.5 * (j - 16) for j in range(32)], dtype=np.float32)), "Q8_0 KAT 2"

    # Q4_K: d = 0.5 (0x3800), dmin = 0.25 (0x3400).
    # scales bytes s[0..11]:
    #   s[0] = 0x43 -> sc0 = 3,  top bits 01 -> high bits of sc4 = 1
    #   s[1] = 0x05 -> sc1 = 5;  s[2] = 0x00 -> sc2 = 0;  s[3] = 0xBF -> sc3 = 63, sc7 high = 2
    #   s[4] = 0x81 -> mn0 = 1,  top bits 10 -> high bits of mn4 = 2
    #   s[5] = 0x02 -> mn1 = 2;  s[6] = 0x00 -> mn2 = 0;  s[7] = 0x3F -> mn3 = 63
    #   s[8] = 0x2A -> sc4 = 0xA | 1<<4 = 26, mn4 = 0x2 | 2<<4 = 34
    #   s[9] = 0x00, s[10] = 0x00 -> sc5 = sc6 = mn5 = mn6 = 0
    #   s[11] = 0xF7 -> sc7 = 7 | 2<<4 = 39, mn7 = 15 | 0<<4 = 15
    # So sc = [3,5,0,63,26,0,0,39], mn = [1,2,0,63,34,0,0,15].
    # Quants: qs[32c + l] = (l % 16) | (15 - l % 16) << 4 for every chunk c:
    #   y[64c + l]      = 0.5*sc[2c]  *(l%16)      - 0.25*mn[2c]
    #   y[64c + 32 + l] = 0.5*sc[2c+1]*(15 - l%16) - 0.25*mn[2c+1]
    s = bytes([0x43, 0x05, 0x00, 0xBF, 0x81, 0x02, 0x00, 0x3F, 0x2A, 0x00, 0x00, 0xF7])
    qs = bytes(((l % 16) | ((15 - l % 16) << 4)) for c in range(4) for l in range(32))
    blk = bytes([0x00, 0x38, 0x00, 0x34]) + s + qs
    sc, mn = [3, 5, 0, 63, 26, 0, 0, 39], [1, 2, 0, 63, 34, 0, 0, 15]
    got_sc, got_mn = unpack_k4_scales(np.frombuffer(s, np.uint8)[None, :])
    assert list(got_sc[0]) == sc and list(got_mn[0]) == mn, "Q4_K scale unpack KAT"
    want = []
    for c in range(4):
        want += [0.5 * sc[2 * c] * (l % 16) - 0.25 * mn[2 * c] for l in range(32)]
        want += [0.5 * sc[2 * c + 1] * (15 - l % 16) - 0.25 * mn[2 * c + 1] for l in range(32)]
    want = np.array(want, dtype=np.float32)
    got = dequantize(GGML_Q4_K, blk)
    assert np.array_equal(got, want), "Q4_K KAT"
    # spot values, worked out fully by hand
    assert got[0] == -0.25 and got[1] == 1.25 and got[15] == 22.25      # 1.5*l - 0.25
    assert got[32] == 37.0 and got[47] == -0.5                          # 2.5*(15-l) - 0.5
    assert got[192 + 5] == 0.5 * 0 * 5 - 0 and got[224] == 19.5 * 15 - 3.75

    # Q3_K scale unpack: S[t] = t*4 + 3 (covers all high-bit combinations 0..3)
    S = [4 * t + 3 for t in range(16)]
    raw = pack_q3_k(1.0, S, [0] * 256)
    assert list(unpack_q3_k_scales(np.frombuffer(raw, np.uint8)[None, 96:108])[0]) == S, "Q3_K scales"
    # Q6_K: d = 2, scales[t] = t - 8, element 0 with ql lo nibble 0xF and qh bits 11 -> q = 63-32 = 31
    raw = bytearray(pack_q6_k(2.0, [t - 8 for t in range(16)], [0] * 256))
    assert np.array_equal(dequantize(GGML_Q6_K, bytes(raw)), np.zeros(256, np.float32)), \
        "Q6_K zero quants"
    raw[0] = (raw[0] & 0xF0) | 0x0F
    raw[128] |= 0x03
    got = dequantize(GGML_Q6_K, bytes(raw))
    assert got[0] == 2.0 * (-8) * 31, "Q6_K KAT"
    # Q2_K: scales[0] = 0x21 (scale 1, min 2), d = 1, dmin = 0.5, qs[0] = 0b11100100:
    # elements 0, 32, 64, 96 (j = 0..3, sub 0, 2, 4, 6) take q = 0, 1, 2, 3
    raw = bytearray(84)
    raw[0] = 0x21
    raw[2], raw[4], raw[6] = 0x31, 0x42, 0x53      # subs 2, 4, 6: scale 1,2,3, min 3,4,5
    raw[16] = 0b11100100
    raw[80:82], raw[82:84] = _h(1.0), _h(0.5)
    got = dequantize(GGML_Q2_K, bytes(raw))
    assert got[0] == 0 - 1.0 and got[32] == 1 * 1 - 1.5 and got[64] == 2 * 2 - 2.0 \
        and got[96] == 3 * 3 - 2.5 and got[1] == -1.0 and got[16] == 0.0, "Q2_K KAT"


def _roundtrip_tests(rng):
    """Pack random integer quants/scales with the plain-loop packers, decode, and compare
    with the formula evaluated directly on the integers."""
    def f16(x):
        return float(np.float16(x))

    def check(ttype, raw, want):
        got = dequantize(ttype, raw)
        want = np.asarray(want, dtype=np.float64).astype(np.float32)
        assert np.array_equal(got, want), "%s round trip" % TYPE_NAMES[ttype]
        assert np.array_equal(got.view(np.uint32),
                              dequantize_f32_ggml_order(ttype, raw).view(np.uint32))

    for _ in range(20):
        d, m, dmin = f16(rng.uniform(-1, 1)), f16(rng.uniform(-1, 1)), f16(rng.uniform(-1, 1))
        q = [int(v) for v in rng.integers(-8, 8, 32)]
        check(GGML_Q4_0, pack_q4_0(d, q), [d * v for v in q])
        q = [int(v) for v in rng.integers(0, 16, 32)]
        check(GGML_Q4_1, pack_q4_1(d, m, q), [d * v + m for v in q])
        q = [int(v) for v in rng.integers(-16, 16, 32)]
        check(GGML_Q5_0, pack_q5_0(d, q), [d * v for v in q])
        q = [int(v) for v in rng.integers(0, 32, 32)]
        check(GGML_Q5_1, pack_q5_1(d, m, q), [d * v + m for v in q])
        q = [int(v) for v in rng.integers(-128, 128, 32)]
        check(GGML_Q8_0, pack_q8_0(d, q), [d * v for v in q])

        sc, mn = [int(v) for v in rng.integers(0, 16, 16)], [int(v) for v in rng.integers(0, 16, 16)]
        q = [int(v) for v in rng.integers(0, 4, 256)]
        check(GGML_Q2_K, pack_q2_k(d, dmin, sc, mn, q),
              [d * sc[i // 16] * q[i] - dmin * mn[i // 16] for i in range(256)])
        S = [int(v) for v in rng.integers(0, 64, 16)]
        q = [int(v) for v in rng.integers(-4, 4, 256)]
        check(GGML_Q3_K, pack_q3_k(d, S, q), [d * (S[i // 16] - 32) * q[i] for i in range(256)])
        sc, mn = [int(v) for v in rng.integers(0, 64, 8)], [int(v) for v in rng.integers(0, 64, 8)]
        q = [int(v) for v in rng.integers(0, 16, 256)]
        check(GGML_Q4_K, pack_q4_k(d, dmin, sc, mn, q),
              [d * sc[i // 32] * q[i] - dmin * mn[i // 32] for i in range(256)])
        q = [int(v) for v in rng.integers(0, 32, 256)]
        check(GGML_Q5_K, pack_q5_k(d, dmin, sc, mn, q),
              [d * sc[i // 32] * q[i] - dmin * mn[i // 32] for i in range(256)])
        sc6 = [int(v) for v in rng.integers(-128, 128, 16)]
        q = [int(v) for v in rng.integers(-32, 32, 256)]
        check(GGML_Q6_K, pack_q6_k(d, sc6, q), [d * sc6[i // 16] * q[i] for i in range(256)])
        d32 = float(np.float32(rng.uniform(-1, 1)))
        q = [int(v) for v in rng.integers(-128, 128, 256)]
        raw = pack_q8_k(d32, q)
        check(GGML_Q8_K, raw, [d32 * v for v in q])
        assert list(np.frombuffer(raw[260:], "<i2")) == [sum(q[16 * t:16 * t + 16]) for t in range(16)]


def self_test():
    _known_answer_tests()
    _roundtrip_tests(np.random.default_rng(12345))
    # sizes match gguf.md §2
    for t, (qk, nb) in TYPE_BLOCK.items():
        assert dequantize(t, bytes(nb)).shape == (qk,)
    return True


if __name__ == "__main__":
    self_test()
    print("quant_ref self-test OK (%d types)" % len(TYPE_BLOCK))
    sys.exit(0)
