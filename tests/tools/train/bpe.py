#!/usr/bin/env -S /usr/bin/python3
"""Byte-level BPE with DeepSeek-V3's pre-tokenizer: training and encoding.

The pre-tokenizer is the "deepseek-v3" one (see /work/shared/reference/dsv3-tokenizer.md
§3): three regex splits applied in sequence (digit runs of 1-3, CJK/kana runs, then the
main pattern), each piece kept ("Isolated"), then GPT-2's byte -> unicode alphabet. BPE
merges never cross a piece. A vocabulary trained here can therefore be run by any
"deepseek-v3" tokenizer (llama.cpp's, HF's, dsv3's) given its token list and merges.

Vocabulary layout (ids):
    0 <｜begin▁of▁sentence｜> (BOS)   1 <｜end▁of▁sentence｜> (EOS)   2 <｜▁pad▁｜> (pad)
    3 .. 258   the 256 single bytes, in GPT-2 alphabet order ("!" first, as in DeepSeek-V3)
    259 ..     one token per merge, in rank order

    /usr/bin/python3 bpe.py --selftest
"""
import heapq
import json
import sys

import regex

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
SPECIALS = [BOS, EOS, PAD]

# DeepSeek-V3 tokenizer.json pre_tokenizer, steps 1-3 (dsv3-tokenizer.md §3).
PRE_TOKENIZER_REGEXES = [
    r"\p{N}{1,3}",
    r"[一-龥぀-ゟ゠-ヿ]+",
    r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+"
    r"|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
    r"| ?[\p{P}\p{S}]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+",
]
_COMPILED = [regex.compile(p) for p in PRE_TOKENIZER_REGEXES]


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable code point map (dsv3-tokenizer.md §1.1)."""
    bs = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_TO_UNICODE = bytes_to_unicode()
UNICODE_TO_BYTE = {c: b for b, c in BYTE_TO_UNICODE.items()}
# Byte tokens in the alphabet's order: printable bytes first, then the remapped ones.
BYTE_ORDER = list(BYTE_TO_UNICODE.keys())


def _split_isolated(pattern, pieces):
    out = []
    for s in pieces:
        pos = 0
        for m in pattern.finditer(s):
            if m.start() > pos:
                out.append(s[pos:m.start()])
            if m.end() > m.start():
                out.append(m.group())
            pos = m.end()
        if pos < len(s):
            out.append(s[pos:])
    return out


def pre_tokenize(text):
    """Text -> list of pieces (str), before the byte-level mapping."""
    pieces = [text] if text else []
    for p in _COMPILED:
        pieces = _split_isolated(p, pieces)
    return pieces


def to_alphabet(piece):
    return "".join(BYTE_TO_UNICODE[b] for b in piece.encode("utf-8"))


class Tokenizer:
    def __init__(self, tokens, merges):
        self.tokens = list(tokens)                                  # id -> string (alphabet)
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.merges = [tuple(m) for m in merges]                    # rank order
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self.cache = {}
        assert self.tokens[:3] == SPECIALS
        self.bos, self.eos, self.pad = 0, 1, 2

    # -- encoding ---------------------------------------------------------------------
    def _bpe(self, piece):
        ids = self.cache.get(piece)
        if ids is not None:
            return ids
        sym = list(to_alphabet(piece))
        while len(sym) > 1:
            best, best_rank = None, None
            for i in range(len(sym) - 1):
                r = self.ranks.get((sym[i], sym[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            pair = (sym[best], sym[best + 1])
            merged, i = [], 0
            while i < len(sym):                     # merge every occurrence, left to right
                if i < len(sym) - 1 and (sym[i], sym[i + 1]) == pair:
                    merged.append(sym[i] + sym[i + 1])
                    i += 2
                else:
                    merged.append(sym[i])
                    i += 1
            sym = merged
        ids = [self.ids[s] for s in sym]
        self.cache[piece] = ids
        return ids

    def encode(self, text, bos=False):
        """Token ids of text (no special-token parsing); BOS first if bos."""
        out = [self.bos] if bos else []
        for piece in pre_tokenize(text):
            out.extend(self._bpe(piece))
        return out

    def decode(self, ids):
        b = bytearray()
        for i in ids:
            if i < len(SPECIALS):
                continue
            b.extend(UNICODE_TO_BYTE[c] for c in self.tokens[i])
        return b.decode("utf-8", errors="replace")

    # -- storage ----------------------------------------------------------------------
    def token_types(self):
        """GGUF token types: 3 CONTROL for the specials, 1 NORMAL otherwise."""
        return [3 if i < len(SPECIALS) else 1 for i in range(len(self.tokens))]

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dict(tokens=self.tokens, merges=[" ".join(m) for m in self.merges]), f,
                      ensure_ascii=False, indent=0)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return cls(d["tokens"], [tuple(m.split(" ")) for m in d["merges"]])


def train(texts, vocab_size, log=None):
    """Learns merges until the vocabulary has vocab_size entries.

    texts: iterable of strings (each is pre-tokenized on its own). Deterministic: the
    most frequent adjacent pair wins, ties go to the lexicographically smallest pair.
    """
    word_freq = {}
    for t in texts:
        for piece in pre_tokenize(t):
            word_freq[piece] = word_freq.get(piece, 0) + 1
    words = [list(to_alphabet(w)) for w in sorted(word_freq)]
    freqs = [word_freq[w] for w in sorted(word_freq)]

    pair_count = {}
    pair_words = {}                                   # pair -> set of word indices
    for wi, sym in enumerate(words):
        for a, b in zip(sym, sym[1:]):
            pair_count[(a, b)] = pair_count.get((a, b), 0) + freqs[wi]
            pair_words.setdefault((a, b), set()).add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)

    tokens = SPECIALS + [BYTE_TO_UNICODE[b] for b in BYTE_ORDER]
    known = set(tokens)
    merges = []
    while len(tokens) < vocab_size and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue                                  # stale heap entry
        merges.append(pair)
        new = pair[0] + pair[1]
        if new not in known:
            known.add(new)
            tokens.append(new)
        changed = set()
        for wi in sorted(pair_words.pop(pair, ())):
            sym, f = words[wi], freqs[wi]
            for a, b in zip(sym, sym[1:]):            # remove this word's old pairs
                pair_count[(a, b)] -= f
                changed.add((a, b))
            out, i = [], 0
            while i < len(sym):
                if i < len(sym) - 1 and sym[i] == pair[0] and sym[i + 1] == pair[1]:
                    out.append(new)
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            words[wi] = out
            for a, b in zip(out, out[1:]):
                pair_count[(a, b)] = pair_count.get((a, b), 0) + f
                pair_words.setdefault((a, b), set()).add(wi)
                changed.add((a, b))
        pair_count.pop(pair, None)
        for p in changed:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            elif p in pair_count:
                del pair_count[p]
        if log and len(merges) % 500 == 0:
            log("bpe: %d merges, vocab %d, last %r (count %d)" % (len(merges), len(tokens), new, -negc))
    return Tokenizer(tokens, merges)


def selftest():
    # pre-tokenizer pieces from dsv3-tokenizer.md §3.2
    cases = {
        "Hello, world! 1234567": ["Hello", ",", " world", "!", " ", "123", "456", "7"],
        "  leading spaces\n\nnewlines\r\n": [" ", " leading", " spaces", "\n\n", "newlines", "\r\n"],
        "x=a.b_c; // C++ comment": ["x", "=a", ".b", "_c", ";", " //", " C", "++", " comment"],
        "3.14159 and 1,000,000": ["3", ".", "141", "59", " and", " ", "1", ",", "000", ",", "000"],
        "<think>\nok</think>": ["<think", ">\n", "ok", "</", "think", ">"],
        "你好，世界。日本語のテキスト": ["你好", "，", "世界", "。", "日本語のテキスト"],
    }
    for text, want in cases.items():
        got = pre_tokenize(text)
        assert got == want, (text, got)
    assert len(BYTE_TO_UNICODE) == 256 and BYTE_TO_UNICODE[0x20] == "\u0120" and BYTE_TO_UNICODE[0x0A] == "\u010a"
    assert BYTE_ORDER[0] == 0x21
    tok = train(["the cat sat on the mat.\nthe end\n"] * 3, 3 + 256 + 12)
    s = "the cat sat on the mat.\nthe end\n"
    ids = tok.encode(s)
    assert tok.decode(ids) == s and len(ids) < len(s.encode()), ids
    assert tok.decode(tok.encode("émoji 😊 done")) == "émoji 😊 done"
    return True


if __name__ == "__main__":
    if "--selftest" in sys.argv:
        selftest()
        print("bpe selftest ok")
    else:
        print(__doc__)
