#!/usr/bin/env -S /usr/bin/python3
"""Small GGUF writer (versions 2 and 3) for dsv3's test data.

Written from /work/shared/reference/gguf.md. Needs numpy; run with /usr/bin/python3.

    w = GGUFWriter(version=3, alignment=32, write_alignment_key=False)
    w.add_string("general.architecture", "deepseek2")
    w.add_u32("deepseek2.block_count", 3)
    w.add_array("tokenizer.ggml.tokens", T_STRING, ["<t0>", "<t1>"])
    w.add_tensor("token_embd.weight", arr, GGML_Q8_0)   # arr in numpy order = reversed ne
    w.write("model.gguf")

Tensors are given as numpy arrays whose shape is the *reverse* of ggml's ne, i.e. the
last numpy axis is ne[0] (contiguous). The writer converts / quantizes them itself.
Metadata is written in the order it was added.
"""
import struct

import numpy as np

# ---- metadata value type ids (gguf.md §1.2) ----------------------------------
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, \
    T_STRING, T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = range(13)

_SCALAR_FMT = {
    T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I",
    T_INT32: "<i", T_FLOAT32: "<f", T_UINT64: "<Q", T_INT64: "<q", T_FLOAT64: "<d",
}

# ---- ggml tensor type ids (gguf.md §2) ---------------------------------------
GGML_F32, GGML_F16, GGML_Q8_0, GGML_BF16 = 0, 1, 8, 30
TYPE_NAMES = {GGML_F32: "F32", GGML_F16: "F16", GGML_Q8_0: "Q8_0", GGML_BF16: "BF16"}
# (block size in elements, bytes per block)
TYPE_BLOCK = {GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_Q8_0: (32, 34), GGML_BF16: (1, 2)}

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32


# ---- conversions --------------------------------------------------------------
def to_f16_bytes(x):
    """IEEE binary16 with round-to-nearest-even (numpy's float32->float16 cast)."""
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(np.asarray(x, dtype=np.float32).astype("<f2")).tobytes()


def f32_to_bf16_bits(x):
    """bf16 = upper half of the f32 bits, rounded to nearest even; NaN stays a quiet NaN."""
    bits = np.ascontiguousarray(np.asarray(x, dtype=np.float32)).view(np.uint32).astype(np.uint64)
    is_nan = (bits & 0x7FFFFFFF) > 0x7F800000
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    quiet = (bits >> 16) | 64
    return np.where(is_nan, quiet, rounded).astype(np.uint16)


def to_bf16_bytes(x):
    return f32_to_bf16_bits(x).astype("<u2").tobytes()


def quantize_q8_0(x):
    """ggml's reference Q8_0 quantizer, in float32 arithmetic like the C code:
    per block of 32: amax = max|x|, d = amax/127, id = d ? 1/d : 0,
    q = roundf(x*id) (half away from zero), d stored as f16.
    Returns (d_f16 array [nb], q int8 array [nb,32])."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if x.size % 32:
        raise ValueError("Q8_0 needs a multiple of 32 elements per row")
    blk = x.reshape(-1, 32)
    amax = np.max(np.abs(blk), axis=1)                      # float32
    d = (amax / np.float32(127.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, np.float32(1.0)),
                       np.float32(0.0)).astype(np.float32)
    prod = (blk * inv[:, None]).astype(np.float32).astype(np.float64)
    q = np.sign(prod) * np.floor(np.abs(prod) + 0.5)           # roundf, exact in f64
    return d.astype(np.float16), q.astype(np.int8)


def q8_0_bytes(x):
    d, q = quantize_q8_0(x)
    nb = d.shape[0]
    out = np.zeros((nb, 34), dtype=np.uint8)
    out[:, 0:2] = d.astype("<f2").view(np.uint8).reshape(nb, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def encode_tensor(arr, ttype):
    """Bytes of a tensor stored as ttype (arr in numpy order, last axis = ne[0])."""
    arr = np.asarray(arr)
    if ttype == GGML_F32:
        return np.ascontiguousarray(arr, dtype="<f4").tobytes()
    if ttype == GGML_F16:
        return to_f16_bytes(arr)
    if ttype == GGML_BF16:
        return to_bf16_bytes(arr)
    if ttype == GGML_Q8_0:
        if arr.shape[-1] % 32:
            raise ValueError("Q8_0 row length %d is not a multiple of 32" % arr.shape[-1])
        return q8_0_bytes(arr)
    raise ValueError("unsupported tensor type %r" % (ttype,))


def roundtrip(arr, ttype):
    """The float64 values a reader gets back after storing arr as ttype, computed
    arithmetically (not by decoding bytes), so it can be compared with a reader."""
    a32 = np.asarray(arr, dtype=np.float32)
    if ttype == GGML_F32:
        return a32.astype(np.float64)
    if ttype == GGML_F16:
        with np.errstate(over="ignore"):
            return a32.astype(np.float16).astype(np.float64)
    if ttype == GGML_BF16:
        bits = f32_to_bf16_bits(a32).astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64).reshape(a32.shape)
    if ttype == GGML_Q8_0:
        d, q = quantize_q8_0(a32)
        return (d.astype(np.float64)[:, None] * q.astype(np.float64)).reshape(a32.shape)
    raise ValueError("unsupported tensor type %r" % (ttype,))


def _align(x, a):
    return x + (a - x % a) % a


def _gguf_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _encode_scalar(vtype, value):
    if vtype == T_BOOL:
        if value not in (True, False, 0, 1):
            raise ValueError("bool value must be True/False")
        return struct.pack("<B", 1 if value else 0)
    if vtype == T_STRING:
        return _gguf_string(value)
    return struct.pack(_SCALAR_FMT[vtype], value)


class GGUFWriter:
    def __init__(self, version=3, alignment=DEFAULT_ALIGNMENT, write_alignment_key=None):
        if version not in (2, 3):
            raise ValueError("only GGUF versions 2 and 3 share this layout")
        if alignment <= 0 or alignment & (alignment - 1):
            raise ValueError("alignment must be a power of two")
        self.version = version
        self.alignment = alignment
        self.kv = []          # (key, vtype, value, elem_type or None)
        self.tensors = []     # (name, ne tuple, ttype, bytes)
        if write_alignment_key is None:
            write_alignment_key = alignment != DEFAULT_ALIGNMENT
        if write_alignment_key:
            self.add_u32("general.alignment", alignment)

    # -- metadata ---------------------------------------------------------------
    def _add(self, key, vtype, value, elem=None):
        if any(k == key for k, _, _, _ in self.kv):
            raise ValueError("duplicate key " + key)
        self.kv.append((key, vtype, value, elem))

    def add_u8(self, k, v): self._add(k, T_UINT8, int(v))
    def add_i8(self, k, v): self._add(k, T_INT8, int(v))
    def add_u16(self, k, v): self._add(k, T_UINT16, int(v))
    def add_i16(self, k, v): self._add(k, T_INT16, int(v))
    def add_u32(self, k, v): self._add(k, T_UINT32, int(v))
    def add_i32(self, k, v): self._add(k, T_INT32, int(v))
    def add_u64(self, k, v): self._add(k, T_UINT64, int(v))
    def add_i64(self, k, v): self._add(k, T_INT64, int(v))
    def add_f32(self, k, v): self._add(k, T_FLOAT32, float(v))
    def add_f64(self, k, v): self._add(k, T_FLOAT64, float(v))
    def add_bool(self, k, v): self._add(k, T_BOOL, bool(v))
    def add_string(self, k, v): self._add(k, T_STRING, v)

    def add_array(self, k, elem_type, values):
        if elem_type == T_ARRAY:
            raise ValueError("nested arrays are not written (ggml rejects them)")
        self._add(k, T_ARRAY, list(values), elem_type)

    # -- tensors ----------------------------------------------------------------
    def add_tensor(self, name, arr, ttype):
        """arr in numpy order (shape = reversed ne). Returns the encoded bytes."""
        arr = np.asarray(arr)
        if not 1 <= arr.ndim <= 4:
            raise ValueError("tensor %s has %d dims" % (name, arr.ndim))
        ne = tuple(int(n) for n in reversed(arr.shape))
        data = encode_tensor(arr, ttype)
        self.add_tensor_raw(name, ne, ttype, data)
        return data

    def add_tensor_raw(self, name, ne, ttype, data):
        if len(name.encode()) >= 64:
            raise ValueError("tensor name too long: " + name)
        if any(t[0] == name for t in self.tensors):
            raise ValueError("duplicate tensor " + name)
        bs, bb = TYPE_BLOCK[ttype]
        n = 1
        for d in ne:
            n *= d
        if ne[0] % bs or len(data) != n // bs * bb:
            raise ValueError("tensor %s: %d bytes do not fit ne %r type %d" % (name, len(data), ne, ttype))
        self.tensors.append((name, tuple(ne), ttype, bytes(data)))

    # -- output -----------------------------------------------------------------
    def to_bytes(self):
        out = bytearray()
        out += GGUF_MAGIC
        out += struct.pack("<IQQ", self.version, len(self.tensors), len(self.kv))
        for key, vtype, value, elem in self.kv:
            out += _gguf_string(key)
            out += struct.pack("<I", vtype)
            if vtype == T_ARRAY:
                out += struct.pack("<IQ", elem, len(value))
                for v in value:
                    out += _encode_scalar(elem, v)
            else:
                out += _encode_scalar(vtype, value)
        offset = 0
        offsets = []
        for name, ne, ttype, data in self.tensors:
            out += _gguf_string(name)
            out += struct.pack("<I", len(ne))
            for n in ne:
                out += struct.pack("<Q", n)
            out += struct.pack("<I", ttype)
            out += struct.pack("<Q", offset)
            offsets.append(offset)
            offset = _align(offset + len(data), self.alignment)
        if self.tensors:
            out += b"\0" * (_align(len(out), self.alignment) - len(out))
            base = len(out)
            for (name, ne, ttype, data), off in zip(self.tensors, offsets):
                assert len(out) == base + off
                out += data
                out += b"\0" * (_align(len(out) - base, self.alignment) - (len(out) - base))
        return bytes(out)

    def write(self, path):
        data = self.to_bytes()
        with open(path, "wb") as f:
            f.write(data)
        return data


def selftest():
    """Known-answer tests for the encoders (raise AssertionError on failure)."""
    # Q8_0: amax 127 -> d = 1, id = 1; halves round away from zero (C roundf)
    blk = np.zeros(32, dtype=np.float32)
    blk[:6] = [127.0, 0.5, 2.5, -1.5, -0.5, 126.49]
    d, q = quantize_q8_0(blk)
    assert float(d[0]) == 1.0 and q[0, :6].tolist() == [127, 1, 3, -2, -1, 126], q[0, :6]
    d, q = quantize_q8_0(np.zeros(32, dtype=np.float32))
    assert float(d[0]) == 0.0 and not q.any()
    b = q8_0_bytes(np.full(32, -2.0, dtype=np.float32))   # d = 2/127 -> f16 0x2408, q = -127
    assert b == bytes([0x08, 0x24]) + bytes([0x81]) * 32, b[:4].hex()
    # BF16 round to nearest even, NaN kept quiet
    bits = np.array([0x3F808000, 0x3F818000, 0x3F808001, 0xC0490FDB, 0x7FC00001, 0x7F800001],
                    dtype=np.uint32)
    got = f32_to_bf16_bits(bits.view(np.float32)).tolist()
    assert got == [0x3F80, 0x3F82, 0x3F81, 0xC049, 0x7FC0, 0x7FC0], [hex(v) for v in got]
    # F16 round to nearest even, overflow to inf
    assert to_f16_bytes([2049.0, 2051.0, 65520.0, 1.0]) == bytes.fromhex("0068026800 7c003c".replace(" ", "")), \
        to_f16_bytes([2049.0, 2051.0, 65520.0, 1.0]).hex()
    # a whole file, byte for byte
    w = GGUFWriter(version=3)
    w.add_u32("a", 7)
    w.add_tensor("t", np.array([1.5], dtype=np.float32), GGML_F32)
    want = (b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + struct.pack("<Q", 1) + b"a"
            + struct.pack("<II", 4, 7) + struct.pack("<Q", 1) + b"t" + struct.pack("<IQIQ", 1, 1, 0, 0))
    want += b"\0" * (-len(want) % 32) + struct.pack("<f", 1.5) + b"\0" * 28
    assert w.to_bytes() == want
    return True


if __name__ == "__main__":
    selftest()
    print("gguf_writer selftest ok")
