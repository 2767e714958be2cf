#!/usr/bin/env -S /usr/bin/python3
"""Corpus -> BPE vocabulary -> token ids, for train.py.

    /usr/bin/python3 tests/tools/train/prepare.py --vocab 3072 --out build/train

writes OUT/tokenizer-V.json and OUT/data-V.npz with
    train, val          uint16 token ids of the two splits (BOS not included)
    train_starts, val_starts   offset of every verse's first token in its split
The vocabulary is trained on the training split only.
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe  # noqa: E402
import corpus  # noqa: E402


def encode_split(tok, chs):
    ids, starts = [], []
    for _, _, verses in chs:
        lines = corpus.chapter_lines(verses)
        chapter_ids = []
        for line in lines:
            starts.append(len(ids) + len(chapter_ids))
            chapter_ids.extend(tok.encode(line))
        # line-by-line encoding must equal encoding the chapter as one text
        assert chapter_ids == tok.encode("".join(lines)), "pre-tokenizer pieces cross a line end"
        ids.extend(chapter_ids)
    return np.array(ids, dtype=np.uint16), np.array(starts, dtype=np.int64)


def prepare(vocab, out, log=print):
    os.makedirs(out, exist_ok=True)
    raw = corpus.dump_kjv()
    if corpus.sha256(raw) != corpus.KJV_SHA256:
        log("warning: the KJV dump differs from the one the shipped model was trained on")
    chs = corpus.chapters(raw)
    train_ch = [c for i, c in enumerate(chs) if not corpus.is_validation(i)]
    val_ch = [c for i, c in enumerate(chs) if corpus.is_validation(i)]
    t0 = time.time()
    lines = [line for _, _, v in train_ch for line in corpus.chapter_lines(v)]
    tok = bpe.train(lines, vocab, log=log)
    log("bpe: vocabulary of %d tokens (%d merges) in %.1f s" % (len(tok.tokens), len(tok.merges), time.time() - t0))
    tok_path = os.path.join(out, "tokenizer-%d.json" % vocab)
    tok.save(tok_path)
    tr, tr_s = encode_split(tok, train_ch)
    va, va_s = encode_split(tok, val_ch)
    nbytes_tr = sum(len(line) for line in lines)
    nbytes_va = sum(len(line) for _, _, v in val_ch for line in corpus.chapter_lines(v))
    np.savez(os.path.join(out, "data-%d.npz" % vocab), train=tr, val=va, train_starts=tr_s, val_starts=va_s,
             train_bytes=nbytes_tr, val_bytes=nbytes_va)
    log("tokens: train %d (%.2f bytes/token), val %d (%.2f bytes/token); %d + %d verses"
        % (len(tr), nbytes_tr / len(tr), len(va), nbytes_va / len(va), len(tr_s), len(va_s)))
    return tok_path


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=3072)
    ap.add_argument("--out", default="build/train")
    a = ap.parse_args()
    prepare(a.vocab, a.out)
