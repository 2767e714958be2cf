#!/usr/bin/env -S /usr/bin/python3
"""Tiny independent GGUF reader (v2/v3) used to check the writer's output.

Deliberately shares no code with gguf_writer.py. Parses header, metadata, tensor
infos, alignment and data offset; decodes F32/F16/BF16/Q8_0 to float64.

    g = GGUFFile.read("model.gguf")
    g.kv["deepseek2.block_count"]     -> python value (arrays as lists)
    g.kv_types[key]                   -> (type id, element type id or None)
    g.tensors[name]                   -> dict(ne, type, offset, nbytes)
    g.raw(name) / g.array(name)       -> bytes / float64 ndarray in numpy order (reversed ne)
"""
import struct
import sys

import numpy as np

_SCALARS = {0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4),
            6: ("<f", 4), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8)}
# type id -> (elements per block, bytes per block)
_BLOCKS = {0: (1, 4), 1: (1, 2), 8: (32, 34), 30: (1, 2)}


class GGUFError(Exception):
    pass


class _Cursor:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise GGUFError("truncated at byte %d" % self.pos)
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, n):
        return struct.unpack(fmt, self.take(n))[0]

    def string(self):
        n = self.unpack("<Q", 8)
        return self.take(n).decode("utf-8")

    def value(self, t):
        if t in _SCALARS:
            return self.unpack(*_SCALARS[t])
        if t == 7:
            b = self.unpack("<B", 1)
            if b > 1:
                raise GGUFError("bad bool byte %d" % b)
            return bool(b)
        if t == 8:
            return self.string()
        raise GGUFError("bad value type %d" % t)


class GGUFFile:
    @classmethod
    def read(cls, path):
        with open(path, "rb") as f:
            return cls(f.read())

    def __init__(self, buf):
        self.buf = buf
        c = _Cursor(buf)
        if c.take(4) != b"GGUF":
            raise GGUFError("bad magic")
        self.version = c.unpack("<I", 4)
        if self.version not in (2, 3):
            raise GGUFError("unsupported version %d" % self.version)
        n_tensors = c.unpack("<Q", 8)
        n_kv = c.unpack("<Q", 8)
        self.n_tensors, self.n_kv = n_tensors, n_kv
        self.kv, self.kv_types, self.kv_order = {}, {}, []
        for _ in range(n_kv):
            key = c.string()
            t = c.unpack("<I", 4)
            if t == 9:
                et = c.unpack("<I", 4)
                n = c.unpack("<Q", 8)
                if et == 9:
                    raise GGUFError("nested array")
                val = [c.value(et) for _ in range(n)]
                self.kv_types[key] = (9, et)
            else:
                val = c.value(t)
                self.kv_types[key] = (t, None)
            if key in self.kv:
                raise GGUFError("duplicate key " + key)
            self.kv[key] = val
            self.kv_order.append(key)
        self.alignment = 32
        if "general.alignment" in self.kv:
            if self.kv_types["general.alignment"][0] != 4:
                raise GGUFError("general.alignment must be u32")
            self.alignment = self.kv["general.alignment"]
            if self.alignment == 0 or self.alignment & (self.alignment - 1):
                raise GGUFError("alignment not a power of two")
        self.tensors, self.tensor_order = {}, []
        for _ in range(n_tensors):
            name = c.string()
            nd = c.unpack("<I", 4)
            if not 1 <= nd <= 4:
                raise GGUFError("tensor %s: n_dims %d" % (name, nd))
            ne = tuple(c.unpack("<Q", 8) for _ in range(nd))
            t = c.unpack("<I", 4)
            off = c.unpack("<Q", 8)
            if t not in _BLOCKS:
                raise GGUFError("tensor %s: type %d not handled here" % (name, t))
            bs, bb = _BLOCKS[t]
            if ne[0] % bs:
                raise GGUFError("tensor %s: ne[0] %d not a multiple of %d" % (name, ne[0], bs))
            nel = int(np.prod(ne, dtype=np.int64))
            self.tensors[name] = dict(ne=ne, type=t, offset=off, nbytes=nel // bs * bb)
            self.tensor_order.append(name)
        a = self.alignment
        self.header_end = c.pos
        self.data_offset = (c.pos + a - 1) // a * a if n_tensors else c.pos
        if any(b != 0 for b in buf[c.pos:self.data_offset]):
            raise GGUFError("non-zero padding before data")
        expect = 0
        for name in self.tensor_order:
            ti = self.tensors[name]
            if ti["offset"] % a or ti["offset"] != expect:
                raise GGUFError("tensor %s: offset %d (expected %d)" % (name, ti["offset"], expect))
            if self.data_offset + ti["offset"] + ti["nbytes"] > len(buf):
                raise GGUFError("tensor %s out of file" % name)
            expect = (ti["offset"] + ti["nbytes"] + a - 1) // a * a
        self.data_end = self.data_offset + expect

    def raw(self, name):
        ti = self.tensors[name]
        s = self.data_offset + ti["offset"]
        return self.buf[s:s + ti["nbytes"]]

    def array(self, name):
        ti = self.tensors[name]
        b = self.raw(name)
        t = ti["type"]
        if t == 0:
            v = np.frombuffer(b, dtype="<f4").astype(np.float64)
        elif t == 1:
            v = np.frombuffer(b, dtype="<f2").astype(np.float64)
        elif t == 30:
            u = np.frombuffer(b, dtype="<u2").astype(np.uint32) << 16
            v = u.view(np.float32).astype(np.float64)
        elif t == 8:
            blk = np.frombuffer(b, dtype=np.uint8).reshape(-1, 34)
            d = blk[:, :2].copy().view("<f2").astype(np.float64)          # [nb,1]
            q = blk[:, 2:].copy().view(np.int8).astype(np.float64)        # [nb,32]
            v = (d * q).reshape(-1)
        else:
            raise GGUFError("type %d" % t)
        return v.reshape(tuple(reversed(ti["ne"])))


if __name__ == "__main__":
    g = GGUFFile.read(sys.argv[1])
    print("version", g.version, "n_kv", g.n_kv, "n_tensors", g.n_tensors,
          "alignment", g.alignment, "data_offset", g.data_offset)
    for k in g.kv_order:
        v = g.kv[k]
        if isinstance(v, list) and len(v) > 6:
            v = "[%d items: %r ...]" % (len(v), v[:4])
        print("  %-50s %-8s %s" % (k, g.kv_types[k], v))
    for n in g.tensor_order:
        ti = g.tensors[n]
        print("  %-36s type %2d ne %s" % (n, ti["type"], ti["ne"]))
