#!/bin/sh
# Rebuilds models/dsv3-kjv.gguf, its training log and its goldens from scratch.
# Needs (Debian 12): apt-get install python3-torch python3-regex bible-kjv bible-kjv-text
# and, for a ~10x faster run, libopenblas0-pthread (train.py picks it up by itself).
# Run from the repository root:   sh tests/tools/train/reproduce.sh
set -eu
PY=/usr/bin/python3
OUT=build/train
STEPS=${STEPS:-1000}
mkdir -p "$OUT"
rm -f "$OUT/kjv.log"
$PY tests/tools/train/prepare.py --vocab 3072 --out "$OUT"
$PY tests/tools/train/train.py --data "$OUT" --vocab 3072 --seed 1611 --steps "$STEPS" --batch 8 --seq 256 \
    --lr 2e-3 --warmup 100 --gamma 0.01 --mtp-lambda 0.3 --eval-every 100 --log-every 50 \
    --out "$OUT/kjv.pt" --log "$OUT/kjv.log"
$PY tests/tools/train/export.py "$OUT/kjv.pt" models/dsv3-kjv.gguf
$PY tests/tools/train/golden.py models/dsv3-kjv.gguf tests/data
