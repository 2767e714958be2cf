#!/usr/bin/env -S /usr/bin/python3
"""Writes a trained checkpoint (train.py) as a DeepSeek-V3 GGUF, and reads one back.

    /usr/bin/python3 tests/tools/train/export.py build/train/kjv.pt models/dsv3-kjv.gguf

The file is laid out exactly as llama.cpp's converter lays out DeepSeek-V3 (arch
"deepseek2", deepseek2-gguf.md §1-2): the MLA split layout (attn_k_b = W_UK per head
transposed, ne {dn, Lkv, H}; attn_v_b ne {Lkv, dv, H}), stacked experts, exp_probs_b.bias,
expert_gating_func 2, group keys, key_length(_mla)/value_length(_mla), head_count_kv 1.
Matrices, token_embd and output are Q8_0; norms, the router and the bias F32.

The MTP module follows llama.cpp's next-n layer convention (as for GLM-4.5 / DeepSeek-V3.2
files): block_count counts it, deepseek2.nextn_predict_layers = 1, and the last block
blk.L (L = main layers) holds the usual block tensors plus
    blk.L.nextn.eh_proj.weight           ne {2E, E}   input [enorm(emb) ; hnorm(h)]
    blk.L.nextn.enorm.weight             ne {E}
    blk.L.nextn.hnorm.weight             ne {E}
    blk.L.nextn.shared_head_norm.weight  ne {E}
The embedding and output head are shared with the main model, so there is no
nextn.embed_tokens / nextn.shared_head_head.
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import gguf_writer as gw  # noqa: E402
from bpe import Tokenizer  # noqa: E402
from gguf_reader import GGUFFile  # noqa: E402
from model import Config, DeepSeekV3  # noqa: E402

F32, Q8_0 = gw.GGML_F32, gw.GGML_Q8_0
A = "deepseek2."


def metadata(cfg, tok, name, description):
    H, dn, dr, dv, Lkv = cfg.H, cfg.dn, cfg.dr, cfg.dv, cfg.Lkv
    return [
        ("general.architecture", "string", "deepseek2"),
        ("general.name", "string", name),
        ("general.description", "string", description),
        ("general.license", "string", "MIT"),
        ("general.file_type", "u32", 7),                  # LLAMA_FTYPE_MOSTLY_Q8_0
        ("general.quantization_version", "u32", 2),
        (A + "block_count", "u32", cfg.n_layer + cfg.mtp),
        (A + "nextn_predict_layers", "u32", cfg.mtp),
        (A + "context_length", "u32", cfg.ctx),
        (A + "embedding_length", "u32", cfg.E),
        (A + "feed_forward_length", "u32", cfg.F),
        (A + "attention.head_count", "u32", H),
        (A + "attention.head_count_kv", "u32", 1),
        (A + "attention.key_length", "u32", Lkv + dr),
        (A + "attention.value_length", "u32", Lkv),
        (A + "attention.key_length_mla", "u32", dn + dr),
        (A + "attention.value_length_mla", "u32", dv),
        (A + "rope.freq_base", "f32", cfg.base),
        (A + "attention.layer_norm_rms_epsilon", "f32", cfg.eps),
        (A + "expert_used_count", "u32", cfg.k),
        (A + "attention.q_lora_rank", "u32", cfg.Lq),
        (A + "attention.kv_lora_rank", "u32", Lkv),
        (A + "vocab_size", "u32", cfg.vocab),
        (A + "rope.dimension_count", "u32", dr),
        (A + "leading_dense_block_count", "u32", cfg.n_dense),
        (A + "expert_feed_forward_length", "u32", cfg.Fe),
        (A + "expert_count", "u32", cfg.X),
        (A + "expert_shared_count", "u32", cfg.S),
        (A + "expert_weights_scale", "f32", cfg.scale),
        (A + "expert_weights_norm", "bool", True),
        (A + "expert_gating_func", "u32", 2),              # sigmoid
        (A + "expert_group_count", "u32", cfg.n_group),
        (A + "expert_group_used_count", "u32", cfg.topk_group),
        ("tokenizer.ggml.model", "string", "gpt2"),
        ("tokenizer.ggml.pre", "string", "deepseek-v3"),
        ("tokenizer.ggml.tokens", ("array", gw.T_STRING), tok.tokens),
        ("tokenizer.ggml.token_type", ("array", gw.T_INT32), tok.token_types()),
        ("tokenizer.ggml.merges", ("array", gw.T_STRING), [" ".join(m) for m in tok.merges]),
        ("tokenizer.ggml.bos_token_id", "u32", tok.bos),
        ("tokenizer.ggml.eos_token_id", "u32", tok.eos),
        ("tokenizer.ggml.padding_token_id", "u32", tok.pad),
        ("tokenizer.ggml.add_bos_token", "bool", True),
        ("tokenizer.ggml.add_eos_token", "bool", False),
    ]


def np32(t):
    return t.detach().to(torch.float32).cpu().numpy()


def block_tensors(cfg, p, sd, pre, dense):
    """GGUF tensors of one block; sd keys under pre (e.g. 'layers.3.')."""
    H, dn, dv, Lkv = cfg.H, cfg.dn, cfg.dv, cfg.Lkv
    w = lambda n: np32(sd[pre + n])  # noqa: E731
    kvb = w("self_attn.kv_b_proj.weight").reshape(H, dn + dv, Lkv)
    t = [(p + "attn_norm.weight", w("input_layernorm.weight"), F32),
         (p + "attn_q_a.weight", w("self_attn.q_a_proj.weight"), Q8_0),
         (p + "attn_q_a_norm.weight", w("self_attn.q_a_layernorm.weight"), F32),
         (p + "attn_q_b.weight", w("self_attn.q_b_proj.weight"), Q8_0),
         (p + "attn_kv_a_mqa.weight", w("self_attn.kv_a_proj_with_mqa.weight"), Q8_0),
         (p + "attn_kv_a_norm.weight", w("self_attn.kv_a_layernorm.weight"), F32),
         (p + "attn_k_b.weight", np.ascontiguousarray(kvb[:, :dn, :].transpose(0, 2, 1)), Q8_0),
         (p + "attn_v_b.weight", np.ascontiguousarray(kvb[:, dn:, :]), Q8_0),
         (p + "attn_output.weight", w("self_attn.o_proj.weight"), Q8_0),
         (p + "ffn_norm.weight", w("post_attention_layernorm.weight"), F32)]
    if dense:
        t += [(p + "ffn_gate.weight", w("mlp.gate_proj.weight"), Q8_0),
              (p + "ffn_up.weight", w("mlp.up_proj.weight"), Q8_0),
              (p + "ffn_down.weight", w("mlp.down_proj.weight"), Q8_0)]
    else:
        t += [(p + "ffn_gate_inp.weight", w("mlp.gate.weight"), F32),
              (p + "exp_probs_b.bias", w("mlp.e_score_correction_bias"), F32),
              (p + "ffn_gate_exps.weight", w("mlp.w_gate"), Q8_0),
              (p + "ffn_up_exps.weight", w("mlp.w_up"), Q8_0),
              (p + "ffn_down_exps.weight", w("mlp.w_down"), Q8_0),
              (p + "ffn_gate_shexp.weight", w("mlp.shared.gate_proj.weight"), Q8_0),
              (p + "ffn_up_shexp.weight", w("mlp.shared.up_proj.weight"), Q8_0),
              (p + "ffn_down_shexp.weight", w("mlp.shared.down_proj.weight"), Q8_0)]
    return t


def gguf_tensors(cfg, sd):
    out = [("token_embd.weight", np32(sd["embed_tokens.weight"]), Q8_0),
           ("output_norm.weight", np32(sd["norm.weight"]), F32),
           ("output.weight", np32(sd["lm_head.weight"]), Q8_0)]
    for i in range(cfg.n_layer):
        out += block_tensors(cfg, "blk.%d." % i, sd, "layers.%d." % i, i < cfg.n_dense)
    for j in range(cfg.mtp):
        p, pre = "blk.%d." % (cfg.n_layer + j), "mtp.%d." % j
        out += block_tensors(cfg, p, sd, pre + "block.", False)
        out += [(p + "nextn.eh_proj.weight", np32(sd[pre + "eh_proj.weight"]), Q8_0),
                (p + "nextn.enorm.weight", np32(sd[pre + "enorm.weight"]), F32),
                (p + "nextn.hnorm.weight", np32(sd[pre + "hnorm.weight"]), F32),
                (p + "nextn.shared_head_norm.weight", np32(sd[pre + "shared_head_norm.weight"]), F32)]
    return out


def export(ckpt_path, out_path, tokenizer_path=None, name="dsv3-kjv",
           description="A small DeepSeek-V3-architecture model trained on the King James Bible "
                       "(public domain) by dsv3's tests/tools/train; MIT licence."):
    ck = torch.load(ckpt_path, map_location="cpu")
    cfg = Config(**ck["cfg"])
    tok = Tokenizer.load(tokenizer_path or ck["tokenizer"])
    assert len(tok.tokens) == cfg.vocab
    w = gw.GGUFWriter(version=3)
    for key, kind, val in metadata(cfg, tok, name, description):
        if isinstance(kind, tuple):
            w.add_array(key, kind[1], val)
        else:
            getattr(w, "add_" + kind)(key, val)
    for n, arr, tt in gguf_tensors(cfg, ck["state"]):
        w.add_tensor(n, arr, tt)
    w.write(out_path)
    return cfg


# ---- GGUF -> PyTorch (dequantized values), for goldens ------------------------------------
def config_from_gguf(g):
    kv = g.kv
    k = lambda n: kv[A + n]  # noqa: E731
    dr = k("rope.dimension_count")
    return Config(vocab=g.tensors["token_embd.weight"]["ne"][1], E=k("embedding_length"),
                  n_layer=k("block_count") - kv.get(A + "nextn_predict_layers", 0),
                  n_dense=k("leading_dense_block_count"), H=k("attention.head_count"),
                  dn=k("attention.key_length_mla") - dr, dr=dr, dv=k("attention.value_length_mla"),
                  Lq=k("attention.q_lora_rank"), Lkv=k("attention.kv_lora_rank"),
                  F=k("feed_forward_length"), Fe=k("expert_feed_forward_length"), X=k("expert_count"),
                  k=k("expert_used_count"), S=k("expert_shared_count"), n_group=k("expert_group_count"),
                  topk_group=k("expert_group_used_count"), scale=k("expert_weights_scale"),
                  eps=k("attention.layer_norm_rms_epsilon"), base=k("rope.freq_base"),
                  ctx=k("context_length"), mtp=kv.get(A + "nextn_predict_layers", 0))


def load_gguf_model(path, dtype=torch.float64):
    """A DeepSeekV3 holding the file's stored (dequantized) weights, in dtype."""
    g = GGUFFile.read(path)
    cfg = config_from_gguf(g)
    model = DeepSeekV3(cfg).to(dtype)
    sd = model.state_dict()
    ref = {name: arr for name, arr, _ in gguf_tensors(cfg, {k: v for k, v in sd.items()})}
    # invert the mapping: for every GGUF tensor, find the state-dict key it came from
    H, dn, dv, Lkv = cfg.H, cfg.dn, cfg.dv, cfg.Lkv
    new = {}

    def put(key, arr):
        assert tuple(sd[key].shape) == arr.shape, (key, sd[key].shape, arr.shape)
        new[key] = torch.from_numpy(np.ascontiguousarray(arr)).to(dtype)

    def block(p, pre, dense):
        a = lambda n: g.array(p + n)  # noqa: E731
        put(pre + "input_layernorm.weight", a("attn_norm.weight"))
        put(pre + "self_attn.q_a_proj.weight", a("attn_q_a.weight"))
        put(pre + "self_attn.q_a_layernorm.weight", a("attn_q_a_norm.weight"))
        put(pre + "self_attn.q_b_proj.weight", a("attn_q_b.weight"))
        put(pre + "self_attn.kv_a_proj_with_mqa.weight", a("attn_kv_a_mqa.weight"))
        put(pre + "self_attn.kv_a_layernorm.weight", a("attn_kv_a_norm.weight"))
        kb, vb = a("attn_k_b.weight"), a("attn_v_b.weight")        # [H, Lkv, dn], [H, dv, Lkv]
        kvb = np.concatenate([kb.transpose(0, 2, 1), vb], axis=1).reshape(H * (dn + dv), Lkv)
        put(pre + "self_attn.kv_b_proj.weight", kvb)
        put(pre + "self_attn.o_proj.weight", a("attn_output.weight"))
        put(pre + "post_attention_layernorm.weight", a("ffn_norm.weight"))
        if dense:
            for n, m in (("ffn_gate", "gate_proj"), ("ffn_up", "up_proj"), ("ffn_down", "down_proj")):
                put(pre + "mlp.%s.weight" % m, a(n + ".weight"))
        else:
            put(pre + "mlp.gate.weight", a("ffn_gate_inp.weight"))
            put(pre + "mlp.e_score_correction_bias", g.array(p + "exp_probs_b.bias"))
            put(pre + "mlp.w_gate", a("ffn_gate_exps.weight"))
            put(pre + "mlp.w_up", a("ffn_up_exps.weight"))
            put(pre + "mlp.w_down", a("ffn_down_exps.weight"))
            for n, m in (("ffn_gate_shexp", "gate_proj"), ("ffn_up_shexp", "up_proj"), ("ffn_down_shexp", "down_proj")):
                put(pre + "mlp.shared.%s.weight" % m, a(n + ".weight"))

    put("embed_tokens.weight", g.array("token_embd.weight"))
    put("norm.weight", g.array("output_norm.weight"))
    put("lm_head.weight", g.array("output.weight"))
    for i in range(cfg.n_layer):
        block("blk.%d." % i, "layers.%d." % i, i < cfg.n_dense)
    for j in range(cfg.mtp):
        p, pre = "blk.%d." % (cfg.n_layer + j), "mtp.%d." % j
        block(p, pre + "block.", False)
        put(pre + "eh_proj.weight", g.array(p + "nextn.eh_proj.weight"))
        put(pre + "enorm.weight", g.array(p + "nextn.enorm.weight"))
        put(pre + "hnorm.weight", g.array(p + "nextn.hnorm.weight"))
        put(pre + "shared_head_norm.weight", g.array(p + "nextn.shared_head_norm.weight"))
    missing = set(sd) - set(new)
    assert not missing, missing
    assert len(ref) == len(g.tensors), (len(ref), len(g.tensors))
    model.load_state_dict(new)
    model.eval()
    return model, g


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    cfg = export(sys.argv[1], sys.argv[2])
    print("%s: %d bytes" % (sys.argv[2], os.path.getsize(sys.argv[2])))
