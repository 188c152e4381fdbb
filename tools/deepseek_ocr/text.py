"""DeepSeek-MoE decoder of DeepSeek-OCR (v1 layout: MHA + RoPE, dense layer 0,
softmax greedy top-k routing without renormalisation, shared experts).

Attribute names follow the checkpoint (`model.layers.N.mlp.experts.E.*`, ...).
Used by model.py; no KV cache: every call runs the whole sequence (causal).
"""
import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dt)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat([-b, a], dim=-1)


def rope_cos_sin(positions, head_dim, theta):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    ang = positions.float()[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)                        # [T,hd]
    return ang.cos(), ang.sin()


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.heads, self.hd, self.theta = cfg.heads, cfg.head_dim, cfg.rope_theta
        self.q_proj = nn.Linear(cfg.hidden, cfg.heads * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.hidden, cfg.heads * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.hidden, cfg.heads * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.heads * cfg.head_dim, cfg.hidden, bias=False)

    def forward(self, x):                                      # [T,H]
        t = x.shape[0]
        q = self.q_proj(x).view(t, self.heads, self.hd).transpose(0, 1)
        k = self.k_proj(x).view(t, self.heads, self.hd).transpose(0, 1)
        v = self.v_proj(x).view(t, self.heads, self.hd).transpose(0, 1)
        cos, sin = rope_cos_sin(torch.arange(t), self.hd, self.theta)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        s = (q @ k.transpose(-1, -2)).float() * self.hd ** -0.5
        s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        p = torch.softmax(s, dim=-1).to(v.dtype)
        return self.o_proj((p @ v).transpose(0, 1).reshape(t, -1))


class Mlp(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cfg.n_routed_experts, cfg.hidden))


class Moe(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.gate = Gate(cfg)
        self.experts = nn.ModuleList(Mlp(cfg.hidden, cfg.moe_intermediate) for _ in range(cfg.n_routed_experts))
        self.shared_experts = Mlp(cfg.hidden, cfg.moe_intermediate * cfg.n_shared_experts)

    def route(self, x):
        """(weights [T,k] f32, expert ids [T,k]); softmax over f32 logits, greedy top-k."""
        scores = torch.softmax(F.linear(x.float(), self.gate.weight.float()), dim=-1)
        w, idx = torch.topk(scores, self.cfg.top_k, dim=-1)
        if self.cfg.norm_topk_prob:
            w = w / w.sum(-1, keepdim=True)
        return w * self.cfg.routed_scaling_factor, idx

    def forward(self, x):
        w, idx = self.route(x)
        out = torch.zeros_like(x)
        for e in idx.unique().tolist():
            tok, slot = (idx == e).nonzero(as_tuple=True)
            y = self.experts[e](x[tok]) * w[tok, slot, None].to(x.dtype)
            out[tok] = out[tok] + y                            # tok is unique per expert
        return out + self.shared_experts(x)


class DecoderLayer(nn.Module):
    def __init__(self, cfg, i):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden, cfg.rms_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden, cfg.rms_eps)
        self.mlp = Mlp(cfg.hidden, cfg.intermediate) if i < cfg.first_k_dense_replace else Moe(cfg)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))
