"""A compact PyTorch DeepSeek-V3: the architecture dsv3's C engine runs, plus one MTP module.

Math as in /work/shared/reference/deepseek2-gguf.md §3-5 and tests/tools/reference.py
(HF conventions: Linear weights [out, in]); the DeepSeek-V3 report (arXiv 2412.19437v2) for
training-only parts:
  - MLA (§2.1.1): low-rank q (q_a -> RMSNorm -> q_b) and kv (kv_a_mqa -> [latent c | k_pe],
    RMSNorm on c, kv_b -> per head [k_nope | v]); decoupled RoPE on q_pe and the one shared
    k_pe, rotating adjacent pairs; softmax scale 1/sqrt(dn + dr) (no YaRN).
  - DeepSeekMoE (§2.1.2): sigmoid affinities; a per-expert bias is added for choosing
    experts only (eq. 16); group-limited choice: group score = sum of the 2 largest biased
    scores in the group, keep the best groups, top-k inside them; weights = unbiased
    affinities of the chosen experts, normalized to sum 1, times routed_scaling_factor;
    plus a shared expert with weight 1. The bias is updated by the trainer (see
    update_expert_bias) -- the auxiliary-loss-free balancing.
  - MTP (§2.2): h'_i = eh_proj([enorm(Emb(t_{i+1})); hnorm(h_i)]), one full block,
    shared_head_norm, then the shared output head predicts t_{i+2}. h_i is the main
    model's final hidden state after output_norm (what vLLM/SGLang/llama.cpp feed their
    DeepSeek MTP drafters). Concatenation order: embedding first, then hidden, as in the
    released DeepSeek-V3 weights and llama.cpp's next-n graphs (the report writes
    [h; emb]; the checkpoints' eh_proj expects [emb; h]).

dtype follows the parameters: float32 for training, model.double() for goldens.
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

NORM_MIN = 6.103515625e-5       # llama.cpp's clamp of the weight sum (deepseek2-gguf.md §5.1)


@dataclass
class Config:
    vocab: int = 3072
    E: int = 256              # embedding_length
    n_layer: int = 6          # main-model blocks (the MTP block comes on top)
    n_dense: int = 1          # leading dense blocks
    H: int = 4
    dn: int = 32              # qk_nope_head_dim
    dr: int = 32              # qk_rope_head_dim
    dv: int = 32              # v_head_dim
    Lq: int = 128             # q_lora_rank
    Lkv: int = 64             # kv_lora_rank
    F: int = 704              # dense FFN width
    Fe: int = 128             # routed / shared expert width
    X: int = 16               # routed experts
    k: int = 2                # experts per token
    S: int = 1                # shared experts
    n_group: int = 4
    topk_group: int = 2
    scale: float = 2.5        # routed_scaling_factor
    eps: float = 1e-6
    base: float = 10000.0     # rope theta
    ctx: int = 256            # context_length written to the file (= training length)
    mtp: int = 1              # MTP modules (0 or 1)

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg, T, dtype, device=None):
    """cos/sin [T, dr/2], angles computed in float64 like reference.py."""
    i = torch.arange(cfg.dr // 2, dtype=torch.float64)
    inv_freq = cfg.base ** (-2.0 * i / cfg.dr)
    theta = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(theta).to(dtype), torch.sin(theta).to(dtype)


def apply_rope(x, cos, sin):
    """Rotates adjacent pairs (x[2i], x[2i+1]); x [..., T, (heads,) dr], cos/sin [T, dr/2]."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    if x.dim() == 4:                        # [B, T, H, dr]
        cos, sin = cos[:, None, :], sin[:, None, :]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class MLA(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg
        self.cfg = cfg
        self.q_a_proj = nn.Linear(c.E, c.Lq, bias=False)
        self.q_a_layernorm = RMSNorm(c.Lq, c.eps)
        self.q_b_proj = nn.Linear(c.Lq, c.H * (c.dn + c.dr), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(c.E, c.Lkv + c.dr, bias=False)
        self.kv_a_layernorm = RMSNorm(c.Lkv, c.eps)
        self.kv_b_proj = nn.Linear(c.Lkv, c.H * (c.dn + c.dv), bias=False)
        self.o_proj = nn.Linear(c.H * c.dv, c.E, bias=False)

    def forward(self, a, cos, sin):
        c = self.cfg
        B, T, _ = a.shape
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(a))).view(B, T, c.H, c.dn + c.dr)
        q_nope, q_pe = q[..., :c.dn], apply_rope(q[..., c.dn:], cos, sin)
        kv = self.kv_a_proj_with_mqa(a)
        lat = self.kv_a_layernorm(kv[..., :c.Lkv])
        k_pe = apply_rope(kv[..., c.Lkv:], cos, sin)                      # [B, T, dr]
        kvb = self.kv_b_proj(lat).view(B, T, c.H, c.dn + c.dv)
        k_nope, v = kvb[..., :c.dn], kvb[..., c.dn:]
        qf = torch.cat([q_nope, q_pe], dim=-1).transpose(1, 2)            # [B, H, T, dk]
        kf = torch.cat([k_nope, k_pe[:, :, None, :].expand(B, T, c.H, c.dr)], dim=-1).transpose(1, 2)
        s = (qf @ kf.transpose(-1, -2)) * (1.0 / math.sqrt(c.dn + c.dr))
        mask = torch.ones(T, T, dtype=torch.bool, device=a.device).triu(1)
        p = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1)
        o = (p @ v.transpose(1, 2)).transpose(1, 2).reshape(B, T, c.H * c.dv)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, E, F_):
        super().__init__()
        self.gate_proj = nn.Linear(E, F_, bias=False)
        self.up_proj = nn.Linear(E, F_, bias=False)
        self.down_proj = nn.Linear(F_, E, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg
        self.cfg = cfg
        self.gate = nn.Linear(c.E, c.X, bias=False)                       # router
        self.register_buffer("e_score_correction_bias", torch.zeros(c.X))
        # routed experts stacked like the GGUF tensors: [X, Fe, E], [X, Fe, E], [X, E, Fe]
        self.w_gate = nn.Parameter(torch.empty(c.X, c.Fe, c.E))
        self.w_up = nn.Parameter(torch.empty(c.X, c.Fe, c.E))
        self.w_down = nn.Parameter(torch.empty(c.X, c.E, c.Fe))
        self.shared = MLP(c.E, c.Fe * c.S)
        self.use_bias = True          # False: choose without the bias (an A/B switch)
        self.last_counts = None       # tokens per expert in the last forward (LongTensor [X])

    def route(self, f):
        """f [N, E] -> (idx [N, k], weights [N, k]) as deepseek2-gguf.md §5.1."""
        c = self.cfg
        scores = torch.sigmoid(self.gate(f))
        sel = scores.detach()
        if self.use_bias:
            sel = sel + self.e_score_correction_bias.to(sel.dtype)
        if c.n_group > 1:
            g = sel.view(-1, c.n_group, c.X // c.n_group)
            gs = g.topk(2, dim=-1).values.sum(-1)                         # [N, G]
            keep = gs.topk(c.topk_group, dim=-1).indices
            gmask = torch.ones_like(gs, dtype=torch.bool).scatter_(1, keep, False)
            sel = g.masked_fill(gmask[..., None], float("-inf")).view(-1, c.X)
        idx = sel.topk(c.k, dim=-1).indices
        w = scores.gather(1, idx)
        w = w / w.sum(-1, keepdim=True).clamp_min(NORM_MIN)
        return idx, w * c.scale

    def forward(self, x):
        c = self.cfg
        shape = x.shape
        f = x.reshape(-1, c.E)
        N = f.shape[0]
        idx, w = self.route(f)
        flat = idx.reshape(-1)
        counts = torch.bincount(flat, minlength=c.X)
        self.last_counts = counts.detach()
        order = torch.argsort(flat, stable=True)
        tok = order // c.k                                                # token of each sorted slot
        xs = f[tok]
        outs = []
        start = 0
        for e, n in enumerate(counts.tolist()):
            if n == 0:
                continue
            xe = xs[start:start + n]
            h = F.silu(xe @ self.w_gate[e].t()) * (xe @ self.w_up[e].t())
            outs.append(h @ self.w_down[e].t())
            start += n
        ys = torch.cat(outs, dim=0)
        y = torch.empty_like(ys).index_copy_(0, order, ys).view(N, c.k, c.E)
        out = (y * w[..., None]).sum(1) + self.shared(f)
        return out.view(shape)


class Block(nn.Module):
    def __init__(self, cfg, dense):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.E, cfg.eps)
        self.self_attn = MLA(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.E, cfg.eps)
        self.mlp = MLP(cfg.E, cfg.F) if dense else MoE(cfg)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class MTP(nn.Module):
    """One multi-token-prediction module (DeepSeek-V3 report §2.2, depth 1)."""

    def __init__(self, cfg):
        super().__init__()
        self.enorm = RMSNorm(cfg.E, cfg.eps)
        self.hnorm = RMSNorm(cfg.E, cfg.eps)
        self.eh_proj = nn.Linear(2 * cfg.E, cfg.E, bias=False)
        self.block = Block(cfg, dense=False)
        self.shared_head_norm = RMSNorm(cfg.E, cfg.eps)

    def forward(self, h, emb_next, cos, sin):
        x = self.eh_proj(torch.cat([self.enorm(emb_next), self.hnorm(h)], dim=-1))
        return self.shared_head_norm(self.block(x, cos, sin))


class DeepSeekV3(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab, cfg.E)
        self.layers = nn.ModuleList([Block(cfg, dense=i < cfg.n_dense) for i in range(cfg.n_layer)])
        self.norm = RMSNorm(cfg.E, cfg.eps)
        self.lm_head = nn.Linear(cfg.E, cfg.vocab, bias=False)
        self.mtp = nn.ModuleList([MTP(cfg) for _ in range(cfg.mtp)])
        self.reset_parameters()

    def reset_parameters(self, std=0.02):
        n_res = 2 * (self.cfg.n_layer + self.cfg.mtp)
        for name, p in self.named_parameters():
            if p.dim() == 1:
                nn.init.ones_(p)                                  # RMSNorm weights
            elif name.endswith(("o_proj.weight", "down_proj.weight", "w_down")):
                nn.init.normal_(p, std=std / math.sqrt(n_res))    # GPT-2 residual scaling
            else:
                nn.init.normal_(p, std=std)

    def moe_layers(self):
        mods = [ly.mlp for ly in self.layers if isinstance(ly.mlp, MoE)]
        return mods + [m.block.mlp for m in self.mtp]

    def set_use_bias(self, on):
        for m in self.moe_layers():
            m.use_bias = on

    def hidden(self, tokens):
        """Final hidden states after output_norm, [B, T, E]."""
        T = tokens.shape[1]
        cos, sin = rope_tables(self.cfg, T, self.embed_tokens.weight.dtype)
        x = self.embed_tokens(tokens)
        for ly in self.layers:
            x = ly(x, cos, sin)
        return self.norm(x)

    def forward(self, tokens):
        """Logits [B, T, V] of the main model."""
        return self.lm_head(self.hidden(tokens))

    def losses(self, seq):
        """seq [B, T+2]: main loss on t+1 over T positions, MTP loss on t+2 over T positions."""
        T = seq.shape[1] - 2
        inp, tgt1, tgt2 = seq[:, :T], seq[:, 1:T + 1], seq[:, 2:T + 2]
        h = self.hidden(inp)
        V = self.cfg.vocab
        main = F.cross_entropy(self.lm_head(h).reshape(-1, V), tgt1.reshape(-1))
        if not self.cfg.mtp:
            return main, None
        cos, sin = rope_tables(self.cfg, T, h.dtype)
        hm = self.mtp[0](h, self.embed_tokens(tgt1), cos, sin)
        mtp = F.cross_entropy(self.lm_head(hm).reshape(-1, V), tgt2.reshape(-1))
        return main, mtp

    @torch.no_grad()
    def update_expert_bias(self, gamma):
        """Auxiliary-loss-free balancing (report §2.1.2): after each step, lower the bias
        of every expert that got more than the mean number of tokens, raise the others."""
        for m in self.moe_layers():
            load = m.last_counts.to(m.e_score_correction_bias.dtype)
            m.e_score_correction_bias += gamma * torch.sign(load.mean() - load)

    def n_params(self):
        return sum(p.numel() for p in self.parameters())


def active_params(cfg):
    """Weights one token touches in the main model (embedding row excluded)."""
    c = cfg
    att = c.E * c.Lq + c.Lq * c.H * (c.dn + c.dr) + c.E * (c.Lkv + c.dr) + c.Lkv * c.H * (c.dn + c.dv) + c.H * c.dv * c.E
    dense = 3 * c.E * c.F
    moe = 3 * c.E * c.Fe * (c.k + c.S) + c.E * c.X
    return c.n_layer * att + c.n_dense * dense + (c.n_layer - c.n_dense) * moe + c.E * c.vocab
