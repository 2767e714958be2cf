#!/usr/bin/env -S /usr/bin/python3
"""The training corpus: the King James Version of the Bible from Debian's bible-kjv-text.

The text ships compressed in /usr/lib/bible.data (package bible-kjv-text) and is read out
with the `bible` program (package bible-kjv):  bible -f Gen1:1-Rev22:21  prints one verse
per line as "Ge1:1 In the beginning ...". The KJV text is in the public domain (Debian's
copyright file for bible-kjv-text: "The copyright for the King James Version text of the
Bible is expired since the translation was done in 1611").

Text layout used for training: each verse on its own line; a chapter ends with an empty
line. Held-out validation set: every chapter whose running index (0..1188) is 25 mod 50,
i.e. 24 whole chapters spread over the book (about 2% of the text).
"""
import hashlib
import re
import subprocess
import sys

# sha256 of `bible -f Gen1:1-Rev22:21` with bible-kjv 4.38 (Debian 12).
KJV_SHA256 = "cd45f0c9cedab8e4439bd6486c8952c77cc8b0ecc5d1f6ae3513f2039f47229d"
VERSE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")


def dump_kjv():
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True).stdout
    return out.decode("ascii")


def chapters(raw=None):
    """[(book, chapter, [verse text, ...]), ...] in order."""
    raw = dump_kjv() if raw is None else raw
    result = []
    for line in raw.splitlines():
        if not line:
            continue
        m = VERSE.match(line)
        if not m:
            raise ValueError("unexpected line in the KJV dump: %r" % line[:60])
        book, ch, text = m.group(1), int(m.group(2)), m.group(4).strip()
        if not result or result[-1][0] != book or result[-1][1] != ch:
            result.append((book, ch, []))
        result[-1][2].append(text)
    return result


def chapter_lines(verses):
    """The chapter's text as lines: verse + "\\n", the last one + "\\n\\n". Each line is a
    whole number of pre-tokenizer pieces, so encoding line by line equals encoding the
    whole text (checked in prepare.py)."""
    return [v + ("\n\n" if i == len(verses) - 1 else "\n") for i, v in enumerate(verses)]


def is_validation(chapter_index):
    return chapter_index % 50 == 25


def sha256(raw):
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


if __name__ == "__main__":
    raw = dump_kjv()
    ch = chapters(raw)
    n_val = sum(is_validation(i) for i in range(len(ch)))
    print("%d chapters, %d verses, %d bytes, sha256 %s; validation chapters %d"
          % (len(ch), sum(len(c[2]) for c in ch), len(raw), sha256(raw), n_val))
    sys.exit(0)
