#!/usr/bin/env -S /usr/bin/python3
"""Independent float64 numpy reference forward pass for DeepSeek-V2/V3 ("deepseek2").

Written from the math in /work/shared/reference/deepseek2-gguf.md, in HF/PyTorch
conventions: Linear weights [out, in], kv_b_proj [H*(dn+dv), Lkv], routed experts as
separate matrices. Attention is computed in the plain (non-absorbed) MHA form;
forward(..., absorbed=True) computes the MLA-absorbed form for a cross-check.

Model = dict(hp=<hyperparameters>, w=<weights>), see load_gguf() for the names.
Usage:
    /usr/bin/python3 tests/tools/reference.py MODEL.gguf [GOLDEN [--nogroups]]
recomputes the logits of GOLDEN's tokens and prints the largest difference.
"""
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_reader import GGUFFile  # noqa: E402

BETA_FAST, BETA_SLOW = 32.0, 1.0
NORM_MIN = 6.103515625e-5


# ---- loading a GGUF into HF-shaped float64 weights ------------------------------
def load_gguf(path):
    g = GGUFFile.read(path)
    if g.kv.get("general.architecture") != "deepseek2":
        raise ValueError("not a deepseek2 file")
    kv = g.kv

    def k(name, default=None):
        return kv.get("deepseek2." + name, default)

    dr = k("rope.dimension_count")
    split = "blk.0.attn_k_b.weight" in g.tensors
    if k("attention.key_length_mla") is not None:
        dk, dv = k("attention.key_length_mla"), k("attention.value_length_mla")
    else:
        dk, dv = k("attention.key_length"), k("attention.value_length")
    yarn = k("rope.scaling.type") == "yarn"
    hp = dict(
        n_vocab=g.tensors["token_embd.weight"]["ne"][1],
        # next-n (MTP) layers sit after the main layers and are not part of the forward pass
        E=k("embedding_length"), L=k("block_count") - k("nextn_predict_layers", 0),
        H=k("attention.head_count"),
        dn=dk - dr, dr=dr, dv=dv, Lq=k("attention.q_lora_rank", 0),
        Lkv=k("attention.kv_lora_rank"), F=k("feed_forward_length"),
        Fe=k("expert_feed_forward_length"), n_dense=k("leading_dense_block_count", 0),
        X=k("expert_count", 0), k=k("expert_used_count", 0), S=k("expert_shared_count", 0),
        n_group=k("expert_group_count", 1), topk_group=k("expert_group_used_count", 1),
        gating="sigmoid" if k("expert_gating_func", 0) == 2 else "softmax",
        norm=bool(k("expert_weights_norm", False)), scale=float(k("expert_weights_scale", 0.0)),
        eps=float(k("attention.layer_norm_rms_epsilon")), base=float(k("rope.freq_base", 10000.0)),
        yarn=yarn, factor=float(k("rope.scaling.factor", 1.0)) if yarn else 1.0,
        orig_ctx=k("rope.scaling.original_context_length", 0) if yarn else 0,
        mscale_all_dim=float(k("rope.scaling.yarn_log_multiplier", 0.0)) / 0.1 if yarn else 0.0,
        split_kv_b=split,
    )
    H, dn = hp["H"], hp["dn"]
    w = dict(embed_tokens=g.array("token_embd.weight"), norm=g.array("output_norm.weight"),
             lm_head=g.array("output.weight"), layers=[])
    for i in range(hp["L"]):
        p = "blk.%d." % i
        a = lambda n: g.array(p + n + ".weight")  # noqa: E731  (numpy order = HF order)
        ly = dict(input_layernorm=a("attn_norm"), kv_a_proj_with_mqa=a("attn_kv_a_mqa"),
                  kv_a_layernorm=a("attn_kv_a_norm"), o_proj=a("attn_output"),
                  post_attention_layernorm=a("ffn_norm"))
        if hp["Lq"]:
            ly.update(q_a_proj=a("attn_q_a"), q_a_layernorm=a("attn_q_a_norm"), q_b_proj=a("attn_q_b"))
        else:
            ly["q_proj"] = a("attn_q")
        if split:
            kb = a("attn_k_b")              # [H, Lkv, dn]: kb[h] = W_UK[h]^T
            vb = a("attn_v_b")              # [H, dv, Lkv]: vb[h] = W_UV[h]
            ly["kv_b_proj"] = np.concatenate(
                [np.concatenate([kb[h].T, vb[h]], axis=0) for h in range(H)], axis=0)
        else:
            ly["kv_b_proj"] = a("attn_kv_b")
        assert ly["kv_b_proj"].shape == (H * (dn + hp["dv"]), hp["Lkv"])
        if i < hp["n_dense"]:
            ly.update(gate_proj=a("ffn_gate"), up_proj=a("ffn_up"), down_proj=a("ffn_down"))
        else:
            ly["gate"] = a("ffn_gate_inp")                       # [X, E]
            bname = p + "exp_probs_b.bias"
            ly["e_score_correction_bias"] = g.array(bname) if bname in g.tensors else None
            ge, ue, de = a("ffn_gate_exps"), a("ffn_up_exps"), a("ffn_down_exps")
            ly["experts"] = [dict(gate_proj=ge[j], up_proj=ue[j], down_proj=de[j])
                             for j in range(hp["X"])]
            ly["shared"] = dict(gate_proj=a("ffn_gate_shexp"), up_proj=a("ffn_up_shexp"),
                                down_proj=a("ffn_down_shexp"))
        w["layers"].append(ly)
    return dict(hp=hp, w=w)


# ---- math ------------------------------------------------------------------------
def rmsnorm(x, weight, eps):
    return x * weight / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def silu(z):
    return z / (1.0 + np.exp(-z))


def mlp(p, x):
    return (silu(x @ p["gate_proj"].T) * (x @ p["up_proj"].T)) @ p["down_proj"].T


def softmax(z, axis=-1):
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def mscale(hp):
    if hp["yarn"] and hp["factor"] > 1.0:
        return 1.0 + 0.1 * hp["mscale_all_dim"] * math.log(hp["factor"])
    return 1.0


def softmax_scale(hp):
    return mscale(hp) ** 2 / math.sqrt(hp["dn"] + hp["dr"])


def yarn_ramp(hp):
    """Per rotation pair i: 1 keeps the original frequency, 0 divides it by factor."""
    d, n = hp["dr"], hp["dr"] // 2
    i = np.arange(n, dtype=np.float64)
    if not hp["yarn"]:
        return np.ones(n)

    def corr(r):
        return d * math.log(hp["orig_ctx"] / (2.0 * math.pi * r)) / (2.0 * math.log(hp["base"]))

    low = max(0.0, math.floor(corr(BETA_FAST)))
    high = min(d - 1.0, math.ceil(corr(BETA_SLOW)))
    return 1.0 - np.clip((i - low) / max(0.001, high - low), 0.0, 1.0)


def rope_angles(hp, positions):
    """theta[t, i] for pair i at position positions[t]."""
    d = hp["dr"]
    i = np.arange(d // 2, dtype=np.float64)
    inv_freq = hp["base"] ** (-2.0 * i / d)
    ramp = yarn_ramp(hp)
    f = hp["factor"] if hp["yarn"] else 1.0
    inv_freq = (inv_freq / f) * (1.0 - ramp) + inv_freq * ramp
    return np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]


def apply_rope(v, theta):
    """Rotate adjacent pairs (v[2i], v[2i+1]) as the complex number v[2i] + j*v[2i+1]
    by angle theta[t, i]. v is [T, dr] or [T, H, dr]; theta is [T, dr/2]."""
    z = v[..., 0::2] + 1j * v[..., 1::2]
    rot = np.exp(1j * theta).reshape(theta.shape[0], *([1] * (z.ndim - 2)), theta.shape[1])
    z = z * rot
    out = np.empty_like(v)
    out[..., 0::2] = z.real
    out[..., 1::2] = z.imag
    return out


def route(hp, logits, bias, n_group, topk_group):
    """Expert choice for one token. Returns (idx[k], weights[k])."""
    X, k = hp["X"], hp["k"]
    scores = 1.0 / (1.0 + np.exp(-logits)) if hp["gating"] == "sigmoid" else softmax(logits)
    sel = scores + bias if bias is not None else scores.copy()
    if n_group > 1:
        g = sel.reshape(n_group, X // n_group)
        if bias is not None:
            gs = np.sort(g, axis=1)[:, -2:].sum(axis=1)        # sum of top-2 per group
        else:
            gs = g.max(axis=1)                                  # DeepSeek official, no bias
        keep = np.argsort(-gs, kind="stable")[:topk_group]
        mask = np.ones(n_group, dtype=bool)
        mask[keep] = False
        g = g.copy()
        g[mask] = -np.inf
        sel = g.reshape(X)
    idx = np.argsort(-sel, kind="stable")[:k]
    wts = scores[idx].copy()
    if hp["norm"]:
        wts = wts / max(wts.sum(), NORM_MIN)
    if hp["scale"] != 0.0:
        wts = wts * hp["scale"]
    return idx, wts


def attention(hp, ly, a, theta, absorbed):
    T = a.shape[0]
    H, dn, dr, dv, Lkv = hp["H"], hp["dn"], hp["dr"], hp["dv"], hp["Lkv"]
    eps = hp["eps"]
    if hp["Lq"]:
        q = rmsnorm(a @ ly["q_a_proj"].T, ly["q_a_layernorm"], eps) @ ly["q_b_proj"].T
    else:
        q = a @ ly["q_proj"].T
    q = q.reshape(T, H, dn + dr)
    q_nope, q_pe = q[..., :dn], apply_rope(q[..., dn:], theta)          # [T,H,dn], [T,H,dr]
    kv = a @ ly["kv_a_proj_with_mqa"].T
    c = rmsnorm(kv[:, :Lkv], ly["kv_a_layernorm"], eps)                # [T,Lkv]
    k_pe = apply_rope(kv[:, Lkv:], theta)                               # [T,dr]
    wkv = ly["kv_b_proj"].reshape(H, dn + dv, Lkv)
    w_uk, w_uv = wkv[:, :dn, :], wkv[:, dn:, :]                         # [H,dn,Lkv], [H,dv,Lkv]
    scale = softmax_scale(hp)
    causal = np.triu(np.ones((T, T), dtype=bool), 1)                    # [t, s]: s > t
    if not absorbed:
        k_nope = np.einsum("hdl,sl->shd", w_uk, c)                      # [T,H,dn]
        v = np.einsum("hdl,sl->shd", w_uv, c)                           # [T,H,dv]
        k_full = np.concatenate([k_nope, np.broadcast_to(k_pe[:, None, :], (T, H, dr))], axis=-1)
        q_full = np.concatenate([q_nope, q_pe], axis=-1)
        s = np.einsum("thd,shd->hts", q_full, k_full) * scale
        s[:, causal] = -np.inf
        p = softmax(s, axis=-1)
        o = np.einsum("hts,shd->thd", p, v)                              # [T,H,dv]
    else:
        q_abs = np.einsum("hdl,thd->thl", w_uk, q_nope)                  # [T,H,Lkv]
        s = (np.einsum("thl,sl->hts", q_abs, c) + np.einsum("thr,sr->hts", q_pe, k_pe)) * scale
        s[:, causal] = -np.inf
        p = softmax(s, axis=-1)
        o_lat = np.einsum("hts,sl->thl", p, c)                           # [T,H,Lkv]
        o = np.einsum("hdl,thl->thd", w_uv, o_lat)
    return o.reshape(T, H * dv) @ ly["o_proj"].T


def forward(model, tokens, absorbed=False, n_group=None, topk_group=None, trace=None):
    """Logits [T, n_vocab] for tokens fed from position 0. n_group/topk_group override
    the file's group keys. trace (a dict) receives router inputs and choices per layer."""
    hp, w = model["hp"], model["w"]
    ng = hp["n_group"] if n_group is None else n_group
    tg = hp["topk_group"] if topk_group is None else topk_group
    tokens = np.asarray(tokens)
    T = len(tokens)
    theta = rope_angles(hp, np.arange(T))
    x = w["embed_tokens"][tokens].astype(np.float64)
    for li, ly in enumerate(w["layers"]):
        a = rmsnorm(x, ly["input_layernorm"], hp["eps"])
        x = x + attention(hp, ly, a, theta, absorbed)
        f = rmsnorm(x, ly["post_attention_layernorm"], hp["eps"])
        if li < hp["n_dense"]:
            x = x + mlp(ly, f)
            continue
        out = mlp(ly["shared"], f)
        logits = f @ ly["gate"].T
        chosen = []
        for t in range(T):
            idx, wts = route(hp, logits[t], ly["e_score_correction_bias"], ng, tg)
            chosen.append(idx)
            for e, wt in zip(idx, wts):
                out[t] += wt * mlp(ly["experts"][e], f[t:t + 1])[0]
        if trace is not None:
            trace.setdefault("router_logits", {})[li] = logits
            trace.setdefault("chosen", {})[li] = np.array(chosen)
        x = x + out
    return rmsnorm(x, w["norm"], hp["eps"]) @ w["lm_head"].T


# ---- golden files ------------------------------------------------------------------
def write_golden(path, tokens, logits):
    T, V = logits.shape
    with open(path, "wb") as f:
        f.write(b"DSVG" + struct.pack("<III", 1, T, V))
        f.write(np.asarray(tokens, dtype="<i4").tobytes())
        f.write(np.asarray(logits, dtype="<f4").tobytes())


def read_golden(path):
    b = open(path, "rb").read()
    if b[:4] != b"DSVG":
        raise ValueError("not a golden file")
    ver, T, V = struct.unpack("<III", b[4:16])
    if ver != 1 or len(b) != 16 + 4 * T + 4 * T * V:
        raise ValueError("bad golden file")
    tokens = np.frombuffer(b, dtype="<i4", count=T, offset=16)
    logits = np.frombuffer(b, dtype="<f4", offset=16 + 4 * T).reshape(T, V)
    return tokens, logits


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    m = load_gguf(sys.argv[1])
    toks, gold = read_golden(sys.argv[2])
    kw = dict(n_group=1, topk_group=1) if "--nogroups" in sys.argv[3:] else {}
    if m["hp"]["X"] == 256 and m["hp"]["n_group"] == 1 and not kw:
        kw = dict(n_group=8, topk_group=4)     # DeepSeek-V3's own rule when keys are absent
    lg = forward(m, toks, **kw)
    err = np.max(np.abs(lg - gold)) / np.max(np.abs(gold))
    print("%s: %d tokens, max |diff| / max |logit| = %.3g" % (sys.argv[2], len(toks), err))
    sys.exit(0 if err < 1e-6 else 1)
