#!/usr/bin/env -S /usr/bin/python3
"""Trains the small DeepSeek-V3 (model.py) on the KJV corpus (prepare.py's token ids).

    /usr/bin/python3 tests/tools/train/train.py --out build/train/kjv.pt --log build/train/kjv.log

Every training window is BOS followed by the text from a random verse start (so a
prompt fed after BOS looks like training data), seq+2 tokens long: the main model
predicts t+1 at seq positions, the MTP module t+2. Loss = main + mtp_lambda * mtp.
After each optimizer step the routing bias of every MoE layer (the MTP block's too)
moves by gamma towards balance (model.update_expert_bias). Deterministic for a given
seed, BLAS and thread count (2): data order from numpy's PCG64, weights from torch's
generator.

Speed: Debian's torch calls whatever libblas.so.3 the system selects; the netlib
reference BLAS is ~10x slower than OpenBLAS. When Debian's libopenblas0-pthread is
installed, this script re-executes itself with it first on LD_LIBRARY_PATH (without
changing the system's BLAS choice). OpenMP threads do not spin (GOMP_SPINCOUNT=0),
which matters on a machine shared with other work.
"""
import os
import sys

OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
if os.path.isdir(OPENBLAS) and OPENBLAS not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = OPENBLAS + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env.setdefault("GOMP_SPINCOUNT", "0")
    env.setdefault("OPENBLAS_NUM_THREADS", "2")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
os.environ.setdefault("GOMP_SPINCOUNT", "0")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import Config, DeepSeekV3, active_params  # noqa: E402

BOS = 0


def blas_in_use():
    try:
        maps = open("/proc/self/maps").read()
    except OSError:
        return "unknown"
    return "openblas" if "libopenblas" in maps else "libblas.so.3 (system choice)"


class Log:
    def __init__(self, path):
        self.f = open(path, "a") if path else None

    def __call__(self, msg):
        print(msg, flush=True)
        if self.f:
            self.f.write(msg + "\n")
            self.f.flush()


def windows_for_eval(tokens, starts, L):
    """Non-overlapping windows: verse starts at least L-1 tokens apart."""
    out, nxt = [], 0
    for s in starts:
        if s >= nxt and s + L - 1 <= len(tokens):
            out.append(s)
            nxt = s + L - 1
    return out


def make_batch(tokens, starts, L):
    seqs = np.empty((len(starts), L), dtype=np.int64)
    seqs[:, 0] = BOS
    for i, s in enumerate(starts):
        seqs[i, 1:] = tokens[s:s + L - 1]
    return torch.from_numpy(seqs)


def layer_load(counts):
    """max/mean tokens per expert, per layer, from a [n_moe_layers, X] count array."""
    c = np.asarray(counts, dtype=np.float64)
    return c.max(axis=1) / np.maximum(c.mean(axis=1), 1e-9)


@torch.no_grad()
def evaluate(model, tokens, wins, L, batch, use_bias=True):
    model.eval()
    model.set_use_bias(use_bias)
    n_moe = len(model.moe_layers())
    counts = np.zeros((n_moe, model.cfg.X))
    tot_main = tot_mtp = 0.0
    n = 0
    for i in range(0, len(wins), batch):
        seq = make_batch(tokens, wins[i:i + batch], L)
        main, mtp = model.losses(seq)
        b = seq.shape[0]
        tot_main += float(main) * b
        tot_mtp += float(mtp) * b if mtp is not None else 0.0
        n += b
        counts += np.stack([m.last_counts.numpy() for m in model.moe_layers()])
    model.set_use_bias(True)
    model.train()
    return tot_main / n, tot_mtp / n, counts


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.lr * (a.min_lr + (1 - a.min_lr) * 0.5 * (1 + math.cos(math.pi * p)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="build/train", help="prepare.py output directory")
    ap.add_argument("--vocab", type=int, default=3072)
    ap.add_argument("--out", default="build/train/kjv.pt")
    ap.add_argument("--log", default=None)
    ap.add_argument("--seed", type=int, default=1611)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=0.1, help="final lr as a fraction of --lr")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--gamma", type=float, default=0.01, help="bias update speed; 0 = no balancing")
    ap.add_argument("--mtp-lambda", type=float, default=0.3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cfg", nargs="*", default=[], help="model.Config overrides, e.g. E=192 n_layer=5")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    log = Log(a.log)

    cfg = Config(vocab=a.vocab, ctx=a.seq)
    for kv in a.cfg:
        k, v = kv.split("=")
        setattr(cfg, k, type(getattr(cfg, k))(v))
    d = np.load(os.path.join(a.data, "data-%d.npz" % a.vocab))
    train, val = d["train"].astype(np.int64), d["val"].astype(np.int64)
    L = a.seq + 2
    train_starts = d["train_starts"][d["train_starts"] + L - 1 <= len(train)]
    val_wins = windows_for_eval(val, d["val_starts"], L)
    val_bytes_per_tok = float(d["val_bytes"]) / len(val)

    model = DeepSeekV3(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=a.wd), dict(params=no_decay, weight_decay=0.0)],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)

    log("# " + " ".join(sys.argv))
    log("config %s" % json.dumps(cfg.to_dict()))
    log("args %s" % json.dumps(vars(a)))
    log("params %d (main model + MTP), active per token %d; train %d tokens, val %d tokens in %d windows; "
        "torch %s, %d threads, BLAS %s" % (model.n_params(), active_params(cfg), len(train), len(val),
                                           len(val_wins), torch.__version__, a.threads, blas_in_use()))
    n_moe = len(model.moe_layers())
    acc = np.zeros((n_moe, cfg.X))
    t_start = time.time()
    run_main = run_mtp = 0.0
    history = []
    for step in range(a.steps + 1):
        if step % a.eval_every == 0 or step == a.steps:
            vm, vt, vc = evaluate(model, val, val_wins, L, 16)
            log("eval step %d  val loss %.4f (%.3f bits/byte)  val mtp loss %.4f  val load max/mean %s  [%.0f s]"
                % (step, vm, vm / math.log(2) / val_bytes_per_tok, vt,
                   " ".join("%.2f" % x for x in layer_load(vc)), time.time() - t_start))
            history.append(dict(step=step, val=vm, val_mtp=vt, time=time.time() - t_start))
        if step == a.steps:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        starts = rng.choice(train_starts, size=a.batch)
        seq = make_batch(train, starts, L)
        main, mtp = model.losses(seq)
        loss = main + a.mtp_lambda * mtp if mtp is not None else main
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        model.update_expert_bias(a.gamma)
        acc += np.stack([m.last_counts.numpy() for m in model.moe_layers()])
        run_main += float(main)
        run_mtp += float(mtp) if mtp is not None else 0.0
        if (step + 1) % a.log_every == 0:
            el = time.time() - t_start
            bias = [m.e_score_correction_bias for m in model.moe_layers()]
            log("step %d  loss %.4f  mtp %.4f  lr %.2e  load max/mean %s  bias range %.3f  %.0f tok/s  [%.0f s]"
                % (step + 1, run_main / a.log_every, run_mtp / a.log_every, lr_at(step, a),
                   " ".join("%.2f" % x for x in layer_load(acc)),
                   max(float(b.max() - b.min()) for b in bias), (step + 1) * a.batch * a.seq / el, el))
            acc[:] = 0
            run_main = run_mtp = 0.0
    el = time.time() - t_start
    vm_nb, _, vc_nb = evaluate(model, val, val_wins, L, 16, use_bias=False)
    _, _, vc = evaluate(model, val, val_wins, L, 16, use_bias=True)
    log("final: val loss %.4f; routing without the bias: val loss %.4f, load max/mean %s; with: %s"
        % (history[-1]["val"], vm_nb, " ".join("%.2f" % x for x in layer_load(vc_nb)),
           " ".join("%.2f" % x for x in layer_load(vc))))
    log("trained %d steps x %d x %d tokens in %.1f min" % (a.steps, a.batch, a.seq, el / 60))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    torch.save(dict(cfg=cfg.to_dict(), state=model.state_dict(), args=vars(a), history=history,
                    tokenizer=os.path.join(a.data, "tokenizer-%d.json" % a.vocab)), a.out)
    log("saved %s" % a.out)


if __name__ == "__main__":
    main()
