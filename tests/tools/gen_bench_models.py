#!/usr/bin/env -S /usr/bin/python3
"""Benchmark models for `make bench`: DeepSeek-V3's real per-layer shapes, scaled
down in depth and expert count, with random (valid) quantized weights.

    /usr/bin/python3 tests/tools/gen_bench_models.py [OUT_DIR]     (default build/bench)

Writes bench-q8_0.gguf and bench-q4_k_m.gguf (several GB in all; generated, never
committed). Shapes: hidden 2048, q_lora 1536, kv_lora 512, 16 heads of 128 + 64
(value 128), 1 dense layer (FFN 10944) + 6 MoE layers of 64 experts of width 1536
(top-6, 2 shared, 8 groups / top 4, sigmoid + bias), the real 129280-token vocab.
The expert width is 1536 rather than V2-Lite's 1408 so that every expert row is a
whole number of 256-element K-quant blocks. The weights are random: the files
measure speed, not quality. The data is streamed to disk, so memory stays small.
"""
import os
import struct
import sys

import numpy as np

E, LQ, LKV, H, DN, DR, DV = 2048, 1536, 512, 16, 128, 64, 128
N_DENSE, N_MOE, F, FE, X, K, S = 1, 6, 10944, 1536, 64, 6, 2
VOCAB = 129280
ALIGN = 32

# ggml type ids and (block elements, block bytes, offset of the f16 scale(s))
F32, F16, Q8_0, Q4_K, Q6_K = 0, 1, 8, 12, 14
LAYOUT = {Q8_0: (32, 34, (0,)), Q4_K: (256, 144, (0, 2)), Q6_K: (256, 210, (208,))}


def tensors(mix):
    """(name, ne, type) of every tensor; mix 'q8_0' or 'q4_k_m'."""
    big = Q8_0 if mix == "q8_0" else Q4_K
    down = Q8_0 if mix == "q8_0" else Q6_K
    out = [("token_embd.weight", (E, VOCAB), big), ("output_norm.weight", (E,), F32),
           ("output.weight", (E, VOCAB), down)]
    for layer in range(N_DENSE + N_MOE):
        p = "blk.%d." % layer
        out += [(p + "attn_norm.weight", (E,), F32),
                (p + "attn_q_a.weight", (E, LQ), big), (p + "attn_q_a_norm.weight", (LQ,), F32),
                (p + "attn_q_b.weight", (LQ, H * (DN + DR)), big),
                (p + "attn_kv_a_mqa.weight", (E, LKV + DR), big),
                (p + "attn_kv_a_norm.weight", (LKV,), F32),
                # 128-long rows cannot be K-quantized: Q8_0 as llama-quantize falls back
                (p + "attn_k_b.weight", (DN, LKV, H), Q8_0),
                (p + "attn_v_b.weight", (LKV, DV, H), big),
                (p + "attn_output.weight", (H * DV, E), big),
                (p + "ffn_norm.weight", (E,), F32)]
        if layer < N_DENSE:
            out += [(p + "ffn_gate.weight", (E, F), big), (p + "ffn_up.weight", (E, F), big),
                    (p + "ffn_down.weight", (F, E), Q8_0 if F % 256 else down)]
        else:
            out += [(p + "ffn_gate_inp.weight", (E, X), F32), (p + "exp_probs_b.bias", (X,), F32),
                    (p + "ffn_gate_exps.weight", (E, FE, X), big),
                    (p + "ffn_up_exps.weight", (E, FE, X), big),
                    (p + "ffn_down_exps.weight", (FE, E, X), down),
                    (p + "ffn_gate_shexp.weight", (E, FE * S), big),
                    (p + "ffn_up_shexp.weight", (E, FE * S), big),
                    (p + "ffn_down_shexp.weight", (FE * S, E), down)]
    return out


# Random quants decode to weights of mean ~0 and standard deviation ~1/sqrt(fan-in)
# (as trained weights roughly are), so activations keep a realistic range through
# the layers. Random scale bytes instead (mean-biased Q4_K weights) shrank the
# hidden state to ~1e-33 within a few layers: subnormal products then cost x86
# cores a microcode assist per operation, and the files measured that rather than
# the kernels. The per-weight standard deviation of each type's quant field: Q8_0
# int8 ~73.9; Q4_K 8*q - 60 with q uniform in 0..15 ~36.9 (sub-block scale 8,
# min 60); Q6_K (q - 32) in -32..31 ~18.5 times an int8 sub-block scale ~73.9.
QUANT_STD = {Q8_0: 73.9, Q4_K: 36.9, Q6_K: 18.5 * 73.9}


def fix_scales(raw, ttype, fan_in, rng):
    nb = raw.shape[0]
    d = rng.uniform(0.8, 1.2, size=nb) / (np.sqrt(fan_in) * QUANT_STD[ttype])
    d16 = d.astype("<f2").view(np.uint8).reshape(nb, 2)
    if ttype == Q8_0:
        raw[:, 0:2] = d16
    elif ttype == Q4_K:
        raw[:, 0:2] = d16
        raw[:, 2:4] = d16  # dmin = d
        # 12 packed 6-bit (scale, min) pairs, all (8, 60): bytes 0-3 hold scales
        # 0-3 and the top bits of scales 4-7 (0); bytes 4-7 mins 0-3 and the top
        # bits of mins 4-7 (3); bytes 8-11 the low nibbles of scales/mins 4-7
        raw[:, 4:8] = 8
        raw[:, 8:12] = 60 | 0xC0
        raw[:, 12:16] = 8 | (12 << 4)
    else:  # Q6_K: keep the random int8 sub-block scales, set d
        raw[:, 208:210] = d16


def nbytes(ne, ttype):
    n = int(np.prod(ne))
    if ttype == F32:
        return 4 * n
    elems, size, _ = LAYOUT[ttype]
    assert ne[0] % elems == 0, (ne, ttype)
    return n // elems * size


def kv_bytes(key, vtype, payload):
    k = key.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<I", vtype) + payload


def metadata():
    u32 = lambda v: struct.pack("<I", v)  # noqa: E731
    f32 = lambda v: struct.pack("<f", v)  # noqa: E731
    s = lambda v: struct.pack("<Q", len(v.encode())) + v.encode()  # noqa: E731
    kv = [("general.architecture", 8, s("deepseek2")), ("general.name", 8, s("dsv3 bench")),
          # no vocabulary: llama.cpp then loads the file too, for side-by-side runs
          ("tokenizer.ggml.model", 8, s("no_vocab"))]
    a = "deepseek2."
    for key, val in [("block_count", N_DENSE + N_MOE), ("context_length", 163840), ("embedding_length", E),
                     ("feed_forward_length", F), ("attention.head_count", H), ("attention.head_count_kv", 1),
                     ("attention.key_length", LKV + DR), ("attention.value_length", LKV),
                     ("attention.key_length_mla", DN + DR), ("attention.value_length_mla", DV),
                     ("attention.q_lora_rank", LQ), ("attention.kv_lora_rank", LKV),
                     ("rope.dimension_count", DR), ("leading_dense_block_count", N_DENSE),
                     ("expert_feed_forward_length", FE), ("expert_count", X), ("expert_used_count", K),
                     ("expert_shared_count", S), ("expert_group_count", 8), ("expert_group_used_count", 4),
                     ("expert_gating_func", 2), ("vocab_size", VOCAB),
                     ("rope.scaling.original_context_length", 4096)]:
        kv.append((a + key, 4, u32(val)))
    for key, val in [("attention.layer_norm_rms_epsilon", 1e-6), ("rope.freq_base", 10000.0),
                     ("expert_weights_scale", 2.5), ("rope.scaling.factor", 40.0),
                     ("rope.scaling.yarn_log_multiplier", 0.1)]:
        kv.append((a + key, 6, f32(val)))
    kv.append((a + "expert_weights_norm", 7, b"\x01"))
    kv.append((a + "rope.scaling.type", 8, s("yarn")))
    return kv


def write_model(path, mix, rng):
    infos = tensors(mix)
    kvs = metadata()
    header = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kvs))
    header += b"".join(kv_bytes(*kv) for kv in kvs)
    offset = 0
    for name, ne, ttype in infos:
        nm = name.encode()
        header += struct.pack("<Q", len(nm)) + nm + struct.pack("<I", len(ne))
        header += b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", ttype, offset)
        offset += (nbytes(ne, ttype) + ALIGN - 1) // ALIGN * ALIGN
    header += b"\0" * ((ALIGN - len(header) % ALIGN) % ALIGN)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header)
        for name, ne, ttype in infos:
            size = nbytes(ne, ttype)
            if ttype == F32:
                if name.endswith("norm.weight"):
                    data = np.ones(size // 4, dtype="<f4")
                else:
                    data = (rng.standard_normal(size // 4) * 0.05).astype("<f4")
                f.write(data.tobytes())
            else:
                elems, block, _ = LAYOUT[ttype]
                chunk_blocks = max(1, (64 << 20) // block)
                total_blocks = size // block
                done = 0
                while done < total_blocks:
                    nb = min(chunk_blocks, total_blocks - done)
                    raw = rng.integers(0, 256, size=(nb, block), dtype=np.uint8)
                    fix_scales(raw, ttype, ne[0], rng)
                    f.write(raw.tobytes())
                    done += nb
            f.write(b"\0" * ((ALIGN - size % ALIGN) % ALIGN))
    os.replace(tmp, path)
    print("wrote %s (%.2f GB)" % (path, os.path.getsize(path) / 1e9))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
    os.makedirs(out_dir, exist_ok=True)
    for mix in ("q8_0", "q4_k_m"):
        path = os.path.join(out_dir, "bench-%s.gguf" % mix)
        if os.path.exists(path):
            print("exists: %s" % path)
            continue
        write_model(path, mix, np.random.default_rng(7))


if __name__ == "__main__":
    main()
