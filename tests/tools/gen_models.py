#!/usr/bin/env -S /usr/bin/python3
"""Deterministic generator of tiny deepseek2 GGUF models and their golden logits.

Run from the repository root:   /usr/bin/python3 tests/tools/gen_models.py
Writes tests/data/<name>.gguf and tests/data/<name>.golden (plus extra goldens) for
every config below; output is identical byte for byte on every run (seeded numpy
PCG64; numpy 1.24 as installed in /usr/bin/python3).

Weights are made in PyTorch/HF shapes, converted here to GGUF tensors, written with
gguf_writer.py, read back with the independent gguf_reader.py and reference.py's
loader, and only then run through the float64 reference (so the goldens are exact for
the stored, dequantized values). See tests/tools/README.md for the table of configs.
"""
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gguf_writer as gw  # noqa: E402
import reference as ref  # noqa: E402
from gguf_reader import GGUFFile  # noqa: E402

OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "data"))

F32, F16, BF16, Q8_0 = gw.GGML_F32, gw.GGML_F16, gw.GGML_BF16, gw.GGML_Q8_0
FILE_TYPE = {F32: 0, F16: 1, Q8_0: 7, BF16: 32}     # llama_ftype (informative)

BASE = dict(V=320, E=64, H=4, dn=16, dr=16, dv=16, Lq=32, Lkv=32, F=96, Fe=32,
            eps=1e-6, version=3, alignment=32, align_key=False, pad_id=None)

CONFIGS = [
    dict(BASE, name="v3_f32", seed=1001, storage=F32, align_key=True,
         L=3, n_dense=1, dn=24, dr=16, dv=20, Lq=48, X=16, k=4, S=1, groups=(4, 2),
         gating=2, bias=True, norm=True, scale=2.5, base=100.0,
         yarn=dict(factor=4.0, orig=32, log_mul=0.1), ctx=128, split=True, n_tokens=64,
         pad_id=2),
    dict(BASE, name="v3_legacy_bf16", seed=2002, storage=BF16, alignment=64,
         L=3, n_dense=1, H=3, dn=16, dr=8, dv=24, Lq=32, Lkv=48, X=12, k=3, S=1,
         groups=(4, 2), gating=2, bias=True, norm=True, scale=2.5, base=10000.0,
         yarn=dict(factor=8.0, orig=16, log_mul=0.1), ctx=128, split=False, n_tokens=48),
    dict(BASE, name="v2lite_f16", seed=3003, storage=F16, version=2,
         L=3, n_dense=1, Lq=0, X=8, k=2, S=2, groups=None, gating=1, bias=False,
         norm=False, scale=1.0, eps=1e-5, base=10000.0,
         yarn=dict(factor=40.0, orig=1024, log_mul=0.0707), ctx=4096, split=True,
         n_tokens=48, extra_kv=True),
    dict(BASE, name="v3_256x_q8_0", seed=4004, storage=Q8_0,
         L=2, n_dense=1, dn=32, X=256, k=8, S=1, groups=None, gating=2, bias=True,
         norm=True, scale=2.5, base=10000.0, yarn=None, ctx=256, split=True,
         n_tokens=56, nogroups_golden=True),
]


# ---- weights in HF shapes ------------------------------------------------------------
def make_weights(c):
    rng = np.random.default_rng(c["seed"])
    f32 = np.float32

    def lin(out, inp, gain=1.0):
        return (rng.standard_normal((out, inp)) * (gain / math.sqrt(inp))).astype(f32)

    def normw(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(f32)

    E, H, dn, dr, dv = c["E"], c["H"], c["dn"], c["dr"], c["dv"]
    w = dict(embed_tokens=rng.standard_normal((c["V"], E)).astype(f32), layers=[])
    for i in range(c["L"]):
        ly = dict(input_layernorm=normw(E))
        if c["Lq"]:
            ly["q_a_proj"] = lin(c["Lq"], E)
            ly["q_a_layernorm"] = normw(c["Lq"])
            ly["q_b_proj"] = lin(H * (dn + dr), c["Lq"])
        else:
            ly["q_proj"] = lin(H * (dn + dr), E)
        ly["kv_a_proj_with_mqa"] = lin(c["Lkv"] + dr, E)
        ly["kv_a_layernorm"] = normw(c["Lkv"])
        ly["kv_b_proj"] = lin(H * (dn + dv), c["Lkv"])
        ly["o_proj"] = lin(E, H * dv)
        ly["post_attention_layernorm"] = normw(E)
        if i < c["n_dense"]:
            ly["gate_proj"], ly["up_proj"] = lin(c["F"], E), lin(c["F"], E)
            ly["down_proj"] = lin(E, c["F"])
        else:
            ly["gate"] = lin(c["X"], E, gain=1.5)               # router logits std ~1.5
            ly["e_score_correction_bias"] = (
                rng.uniform(-0.3, 0.3, c["X"]).astype(f32) if c["bias"] else None)
            ly["experts"] = [dict(gate_proj=lin(c["Fe"], E), up_proj=lin(c["Fe"], E),
                                  down_proj=lin(E, c["Fe"], gain=2.0)) for _ in range(c["X"])]
            fs = c["Fe"] * c["S"]
            ly["shared"] = dict(gate_proj=lin(fs, E), up_proj=lin(fs, E), down_proj=lin(E, fs))
        w["layers"].append(ly)
    w["norm"] = normw(E)
    w["lm_head"] = lin(c["V"], E, gain=2.0)
    return w


# ---- HF -> GGUF conversion (arrays in numpy order = reversed ggml ne) ----------------
def to_gguf_tensors(c, w):
    st = c["storage"]
    H, dn, dv, Lkv = c["H"], c["dn"], c["dv"], c["Lkv"]
    out = [("token_embd.weight", w["embed_tokens"], st),
           ("output_norm.weight", w["norm"], F32),
           ("output.weight", w["lm_head"], st)]
    for i, ly in enumerate(w["layers"]):
        p = "blk.%d." % i
        t = [(p + "attn_norm.weight", ly["input_layernorm"], F32)]
        if c["Lq"]:
            t += [(p + "attn_q_a.weight", ly["q_a_proj"], st),
                  (p + "attn_q_a_norm.weight", ly["q_a_layernorm"], F32),
                  (p + "attn_q_b.weight", ly["q_b_proj"], st)]
        else:
            t += [(p + "attn_q.weight", ly["q_proj"], st)]
        t += [(p + "attn_kv_a_mqa.weight", ly["kv_a_proj_with_mqa"], st),
              (p + "attn_kv_a_norm.weight", ly["kv_a_layernorm"], F32)]
        if c["split"]:
            kvb = ly["kv_b_proj"].reshape(H, dn + dv, Lkv)
            t += [(p + "attn_k_b.weight", np.ascontiguousarray(kvb[:, :dn, :].transpose(0, 2, 1)), st),
                  (p + "attn_v_b.weight", np.ascontiguousarray(kvb[:, dn:, :]), st)]
        else:
            t += [(p + "attn_kv_b.weight", ly["kv_b_proj"], st)]
        t += [(p + "attn_output.weight", ly["o_proj"], st),
              (p + "ffn_norm.weight", ly["post_attention_layernorm"], F32)]
        if i < c["n_dense"]:
            t += [(p + "ffn_gate.weight", ly["gate_proj"], st),
                  (p + "ffn_up.weight", ly["up_proj"], st),
                  (p + "ffn_down.weight", ly["down_proj"], st)]
        else:
            t += [(p + "ffn_gate_inp.weight", ly["gate"], F32)]
            if ly["e_score_correction_bias"] is not None:
                t += [(p + "exp_probs_b.bias", ly["e_score_correction_bias"], F32)]
            ex = ly["experts"]
            t += [(p + "ffn_gate_exps.weight", np.stack([e["gate_proj"] for e in ex]), st),
                  (p + "ffn_up_exps.weight", np.stack([e["up_proj"] for e in ex]), st),
                  (p + "ffn_down_exps.weight", np.stack([e["down_proj"] for e in ex]), st),
                  (p + "ffn_gate_shexp.weight", ly["shared"]["gate_proj"], st),
                  (p + "ffn_up_shexp.weight", ly["shared"]["up_proj"], st),
                  (p + "ffn_down_shexp.weight", ly["shared"]["down_proj"], st)]
        out += t
    return out


# ---- metadata --------------------------------------------------------------------------
def metadata(c):
    """[(key, kind, value)] in write order; kind names a GGUFWriter add_* method."""
    A = "deepseek2."
    H, dn, dr, dv, Lkv = c["H"], c["dn"], c["dr"], c["dv"], c["Lkv"]
    kv = [("general.architecture", "string", "deepseek2"),
          ("general.name", "string", "dsv3-test-" + c["name"]),
          ("general.file_type", "u32", FILE_TYPE[c["storage"]]),
          ("general.quantization_version", "u32", 2),
          (A + "block_count", "u32", c["L"]),
          (A + "context_length", "u32", c["ctx"]),
          (A + "embedding_length", "u32", c["E"]),
          (A + "feed_forward_length", "u32", c["F"]),
          (A + "attention.head_count", "u32", H)]
    if c["split"]:
        kv += [(A + "attention.head_count_kv", "u32", 1),
               (A + "attention.key_length", "u32", Lkv + dr),
               (A + "attention.value_length", "u32", Lkv),
               (A + "attention.key_length_mla", "u32", dn + dr),
               (A + "attention.value_length_mla", "u32", dv)]
    else:
        kv += [(A + "attention.head_count_kv", "u32", H),
               (A + "attention.key_length", "u32", dn + dr),
               (A + "attention.value_length", "u32", dv)]
    kv += [(A + "rope.freq_base", "f32", c["base"]),
           (A + "attention.layer_norm_rms_epsilon", "f32", c["eps"]),
           (A + "expert_used_count", "u32", c["k"])]
    if c["Lq"]:
        kv += [(A + "attention.q_lora_rank", "u32", c["Lq"])]
    kv += [(A + "attention.kv_lora_rank", "u32", Lkv),
           (A + "vocab_size", "u32", c["V"]),
           (A + "rope.dimension_count", "u32", dr),
           (A + "leading_dense_block_count", "u32", c["n_dense"]),
           (A + "expert_feed_forward_length", "u32", c["Fe"]),
           (A + "expert_count", "u32", c["X"]),
           (A + "expert_shared_count", "u32", c["S"]),
           (A + "expert_weights_scale", "f32", c["scale"])]
    if c["norm"]:
        kv += [(A + "expert_weights_norm", "bool", True)]
    kv += [(A + "expert_gating_func", "u32", c["gating"])]
    if c["groups"]:
        kv += [(A + "expert_group_count", "u32", c["groups"][0]),
               (A + "expert_group_used_count", "u32", c["groups"][1])]
    if c["yarn"]:
        y = c["yarn"]
        kv += [(A + "rope.scaling.type", "string", "yarn"),
               (A + "rope.scaling.factor", "f32", y["factor"]),
               (A + "rope.scaling.original_context_length", "u32", y["orig"]),
               (A + "rope.scaling.yarn_log_multiplier", "f32", y["log_mul"])]
    V = c["V"]
    kv += [("tokenizer.ggml.model", "string", "gpt2"),
           ("tokenizer.ggml.pre", "string", "deepseek-v3"),
           ("tokenizer.ggml.tokens", ("array", gw.T_STRING), ["<t%d>" % i for i in range(V)]),
           ("tokenizer.ggml.token_type", ("array", gw.T_INT32), [3, 3] + [1] * (V - 2)),
           ("tokenizer.ggml.bos_token_id", "u32", 0),
           ("tokenizer.ggml.eos_token_id", "u32", 1)]
    if c["pad_id"] is not None:
        kv += [("tokenizer.ggml.padding_token_id", "u32", c["pad_id"])]
    if c.get("extra_kv"):
        # keys nobody reads, to make a parser skip every value type
        kv += [("tokenizer.ggml.scores", ("array", gw.T_FLOAT32), [float(-i) for i in range(V)]),
               ("tokenizer.ggml.add_bos_token", "bool", False),
               ("dsv3test.u8", "u8", 250), ("dsv3test.i8", "i8", -5),
               ("dsv3test.u16", "u16", 65000), ("dsv3test.i16", "i16", -30000),
               ("dsv3test.i32", "i32", -7), ("dsv3test.u64", "u64", 2 ** 40 + 3),
               ("dsv3test.i64", "i64", -(2 ** 40)), ("dsv3test.f64", "f64", 0.1),
               ("dsv3test.empty", ("array", gw.T_UINT32), []),
               ("dsv3test.u8s", ("array", gw.T_UINT8), [1, 2, 3]),
               ("dsv3test.f64s", ("array", gw.T_FLOAT64), [0.5, -2.25]),
               ("dsv3test.bools", ("array", gw.T_BOOL), [True, False, True])]
    return kv


def expected_hp(c):
    y = c["yarn"]
    f32 = lambda v: float(np.float32(v))  # noqa: E731  (keys are stored as f32)
    return dict(n_vocab=c["V"], E=c["E"], L=c["L"], H=c["H"], dn=c["dn"], dr=c["dr"], dv=c["dv"],
                Lq=c["Lq"], Lkv=c["Lkv"], F=c["F"], Fe=c["Fe"], n_dense=c["n_dense"],
                X=c["X"], k=c["k"], S=c["S"],
                n_group=c["groups"][0] if c["groups"] else 1,
                topk_group=c["groups"][1] if c["groups"] else 1,
                gating="sigmoid" if c["gating"] == 2 else "softmax", norm=c["norm"],
                scale=f32(c["scale"]), eps=f32(c["eps"]), base=f32(c["base"]), yarn=bool(y),
                factor=f32(y["factor"]) if y else 1.0, orig_ctx=y["orig"] if y else 0,
                mscale_all_dim=f32(y["log_mul"]) / 0.1 if y else 0.0, split_kv_b=c["split"])


# ---- checks ----------------------------------------------------------------------------
def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def check_file(c, path, kv, tensors, blobs, version, alignment):
    """Re-read with the independent reader: header, metadata, tensor infos, bytes, values."""
    g = GGUFFile.read(path)
    size = os.path.getsize(path)
    check(g.version == version, "version")
    check(g.alignment == alignment, "alignment %d != %d" % (g.alignment, alignment))
    n_kv = len(kv) + (1 if c["align_key"] or alignment != 32 else 0)
    check(g.n_kv == n_kv, "n_kv %d != %d" % (g.n_kv, n_kv))
    check(g.n_tensors == len(tensors), "n_tensors")
    check(g.data_offset % alignment == 0 and g.data_end == size, "data section layout")
    for key, kind, val in kv:
        got = g.kv[key]
        if kind == "f32":
            check(got == float(np.float32(val)), key)
        elif kind == "f64" or kind in ("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64",
                                       "bool", "string"):
            check(got == val and type(got) == type(val), key)
        else:
            et = kind[1]
            want = [float(np.float32(v)) for v in val] if et == gw.T_FLOAT32 else list(val)
            check(g.kv_types[key] == (gw.T_ARRAY, et) and got == want, key)
    check(g.tensor_order == [t[0] for t in tensors], "tensor order")
    for (name, arr, tt), blob in zip(tensors, blobs):
        ti = g.tensors[name]
        check(ti["type"] == tt and ti["ne"] == tuple(reversed(arr.shape)), name + " info")
        check(g.raw(name) == blob, name + " bytes differ")
        check(np.array_equal(g.array(name), gw.roundtrip(arr, tt)), name + " values differ")


TOL = {F32: (0.0, 0.0), F16: (2.0 ** -11, 6e-8), BF16: (2.0 ** -8, 0.0), Q8_0: (None, None)}


def check_weights(c, loaded, src):
    """Loaded (GGUF -> HF) weights equal the HF weights up to the storage rounding."""
    def cmp(name, a, b, tt):
        check(a.shape == b.shape, "%s shape %r != %r" % (name, a.shape, b.shape))
        b = b.astype(np.float64)
        d = np.abs(a - b)
        if tt == Q8_0:
            ok = d.max() <= (0.5 / 127 + 2 ** -10) * np.abs(b).max()
        else:
            rel, ab = TOL[tt]
            ok = np.all(d <= rel * np.abs(b) + ab)
        check(ok, "%s: loaded weights differ by %g" % (name, d.max()))

    st = c["storage"]
    cmp("embed", loaded["embed_tokens"], src["embed_tokens"], st)
    cmp("lm_head", loaded["lm_head"], src["lm_head"], st)
    cmp("norm", loaded["norm"], src["norm"], F32)
    for i, (a, b) in enumerate(zip(loaded["layers"], src["layers"])):
        check(sorted(a) == sorted(b), "layer %d keys %r %r" % (i, sorted(a), sorted(b)))
        for key in b:
            if key in ("experts", "shared"):
                for j, (ea, eb) in enumerate(zip(a[key] if key == "experts" else [a[key]],
                                                 b[key] if key == "experts" else [b[key]])):
                    for m in ("gate_proj", "up_proj", "down_proj"):
                        cmp("%d.%s.%d.%s" % (i, key, j, m), ea[m], eb[m], st)
            elif b[key] is None:
                check(a[key] is None, key)
            else:
                f32keys = ("input_layernorm", "q_a_layernorm", "kv_a_layernorm",
                           "post_attention_layernorm", "gate", "e_score_correction_bias")
                cmp("%d.%s" % (i, key), a[key], b[key], F32 if key in f32keys else st)


def routing_stats(model, trace, layer, **variants):
    """Fraction of tokens whose expert set changes under routing variants."""
    hp = model["hp"]
    ly = model["w"]["layers"][layer]
    lg = trace["router_logits"][layer]
    base = trace["chosen"][layer]
    res = {}
    for name, (bias, ng, tg) in variants.items():
        b = ly["e_score_correction_bias"] if bias else None
        diff = 0
        for t in range(lg.shape[0]):
            idx, _ = ref.route(hp, lg[t], b, ng, tg)
            diff += set(idx) != set(base[t])
        res[name] = diff / lg.shape[0]
    return res


# ---- main --------------------------------------------------------------------------------
def build(c):
    src = make_weights(c)
    tensors = to_gguf_tensors(c, src)
    kv = metadata(c)
    w = gw.GGUFWriter(version=c["version"], alignment=c["alignment"],
                      write_alignment_key=c["align_key"] or c["alignment"] != 32)
    for key, kind, val in kv:
        if isinstance(kind, tuple):
            w.add_array(key, kind[1], val)
        else:
            getattr(w, "add_" + kind)(key, val)
    blobs = [w.add_tensor(n, a, t) for n, a, t in tensors]
    path = os.path.join(OUT_DIR, c["name"] + ".gguf")
    w.write(path)
    check_file(c, path, kv, tensors, blobs, c["version"], c["alignment"])

    model = ref.load_gguf(path)
    want = expected_hp(c)
    for key in want:
        check(model["hp"][key] == want[key], "hp %s: %r != %r" % (key, model["hp"][key], want[key]))
    check_weights(c, model["w"], src)

    rng = np.random.default_rng(c["seed"] + 7)
    tokens = rng.integers(0, c["V"], size=c["n_tokens"]).astype(np.int32)
    hp = model["hp"]
    groups = {}
    if c.get("nogroups_golden"):
        groups = dict(n_group=8, topk_group=4)   # DeepSeek-V3's rule for 256 experts, no keys
    trace = {}
    logits = ref.forward(model, tokens, **groups, trace=trace)
    logits_abs = ref.forward(model, tokens, absorbed=True, **groups)
    scale = max(1.0, np.abs(logits).max())
    err = np.abs(logits - logits_abs).max()
    check(err <= 1e-9 * scale, "absorbed vs plain MLA differ by %g" % err)

    # not degenerate: logits spread out, the argmax moves, routing depends on the bias/groups
    check(logits.std() > 0.5, "logits nearly constant")
    check(len(set(np.argmax(logits, axis=1))) > c["n_tokens"] // 4, "argmax barely changes")
    ramp = ref.yarn_ramp(hp)
    info = ["tokens %d" % len(tokens), "logit std %.2f" % logits.std(),
            "absorbed-vs-plain %.1e" % err, "kq_scale %.6f" % ref.softmax_scale(hp)]
    if hp["yarn"]:
        info.append("ramp %s" % np.round(ramp, 3).tolist())
    moe = [i for i in range(hp["L"]) if i >= hp["n_dense"]]
    for li in moe:
        var = {}
        ng, tg = groups.get("n_group", hp["n_group"]), groups.get("topk_group", hp["topk_group"])
        if c["bias"]:
            var["nobias"] = (False, ng, tg)
        if ng > 1:
            var["nogroups"] = (c["bias"], 1, 1)
        used = len(set(trace["chosen"][li].reshape(-1).tolist()))
        check(used >= min(hp["X"], 2 * hp["k"]), "layer %d: only %d experts ever chosen" % (li, used))
        st = routing_stats(model, trace, li, **var)
        for name, frac in st.items():
            check(frac > 0.1, "layer %d: routing hardly changes with %s (%.2f)" % (li, name, frac))
        info.append("L%d changed: %s" % (li, ", ".join("%s %.0f%%" % (k, 100 * v) for k, v in st.items())))
    gpath = os.path.join(OUT_DIR, c["name"] + ".golden")
    ref.write_golden(gpath, tokens, logits)
    t2, l2 = ref.read_golden(gpath)
    check(np.array_equal(t2, tokens) and np.array_equal(l2, logits.astype(np.float32)), "golden readback")
    if c.get("nogroups_golden"):
        lng = ref.forward(model, tokens, n_group=1, topk_group=1)
        lng_abs = ref.forward(model, tokens, absorbed=True, n_group=1, topk_group=1)
        check(np.abs(lng - lng_abs).max() <= 1e-9 * scale, "absorbed vs plain (nogroups)")
        rel = np.abs(lng - logits).max(axis=1) / np.abs(logits).max(axis=1)
        check(rel.max() > 1e-2, "group vs no-group goldens too close (%g)" % rel.max())
        info.append("grouped vs nogroups: max rel diff %.3f, positions > 1e-2: %d/%d"
                    % (rel.max(), int((rel > 1e-2).sum()), len(rel)))
        ref.write_golden(os.path.join(OUT_DIR, c["name"] + ".nogroups.golden"), tokens, lng)
    print("%-16s %8d bytes  %s" % (c["name"], os.path.getsize(path), "; ".join(info)))


def main(argv):
    gw.selftest()
    os.makedirs(OUT_DIR, exist_ok=True)
    names = set(argv[1:])
    for c in CONFIGS:
        if not names or c["name"] in names:
            build(c)


if __name__ == "__main__":
    main(sys.argv)
