"""DeepEncoder of DeepSeek-OCR: SAM-base ViTDet + compressor, then CLIP-L.

Written from the published formulas (deepseek-ai/DeepSeek-OCR deepencoder/).
Module attribute names follow the checkpoint (`model.sam_model.*`,
`model.vision_model.*`) so state_dict keys are the released tensor names.
Used by model.py.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def resize_grid_bicubic(grid, size):
    """[1,h,w,C] positions -> [1,size,size,C], bicubic with antialias, in f32."""
    if grid.shape[1] == size and grid.shape[2] == size:
        return grid
    x = grid.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    return x.to(grid.dtype).permute(0, 2, 3, 1)


def rel_pos_table(q_len, k_len, table):
    """Per (query, key) offset rows of `table` [L,C]; linear resize when L != 2*max-1."""
    length = 2 * max(q_len, k_len) - 1
    if table.shape[0] != length:
        t = table.float().t().unsqueeze(0)                    # [1,C,L]
        t = F.interpolate(t, size=length, mode="linear")
        table = t.squeeze(0).t().to(table.dtype)              # [length,C]
    q = torch.arange(q_len)[:, None] * max(k_len / q_len, 1.0)
    k = torch.arange(k_len)[None, :] * max(q_len / k_len, 1.0)
    idx = (q - k) + (k_len - 1) * max(q_len / k_len, 1.0)
    return table[idx.long()]                                  # [q_len,k_len,C]


class LayerNorm2d(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):                                      # [B,C,H,W]
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        x = (x - mu) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class SamAttention(nn.Module):
    def __init__(self, dim, heads, rel_len):
        super().__init__()
        self.heads = heads
        hd = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(rel_len, hd))
        self.rel_pos_w = nn.Parameter(torch.zeros(rel_len, hd))

    def forward(self, x):                                      # [B,H,W,C]
        b, h, w, c = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                       # [B,nh,HW,hd]
        rh = rel_pos_table(h, h, self.rel_pos_h)               # [h,h,hd]
        rw = rel_pos_table(w, w, self.rel_pos_w)
        rq = q.reshape(b, self.heads, h, w, -1)
        bias_h = torch.einsum("bnhwc,hkc->bnhwk", rq, rh)      # unscaled q
        bias_w = torch.einsum("bnhwc,wkc->bnhwk", rq, rw)
        bias = (bias_h[..., :, None] + bias_w[..., None, :]).reshape(b, self.heads, h * w, h * w)
        scale = q.shape[-1] ** -0.5
        att = torch.softmax((q @ k.transpose(-1, -2)) * scale + bias, dim=-1)
        o = (att @ v).permute(0, 2, 1, 3).reshape(b, h, w, c)
        return self.proj(o)


class SamMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.lin2(F.gelu(self.lin1(x)))


class SamBlock(nn.Module):
    def __init__(self, cfg, window):
        super().__init__()
        native = cfg.img_size // cfg.patch_size
        self.window = window
        self.norm1 = nn.LayerNorm(cfg.width, eps=cfg.eps)
        self.attn = SamAttention(cfg.width, cfg.heads, 2 * (window if window else native) - 1)
        self.norm2 = nn.LayerNorm(cfg.width, eps=cfg.eps)
        self.mlp = SamMlp(cfg.width, cfg.width * cfg.mlp_ratio)

    def forward(self, x):
        y = self.norm1(x)
        if self.window:
            b, h, w, c = y.shape
            s = self.window
            ph, pw = (s - h % s) % s, (s - w % s) % s
            y = F.pad(y, (0, 0, 0, pw, 0, ph))                 # zero-pad bottom/right
            H, W = h + ph, w + pw
            y = y.reshape(b, H // s, s, W // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, s, s, c)
            y = self.attn(y)
            y = y.reshape(b, H // s, W // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(b, H, W, c)
            y = y[:, :h, :w]
        else:
            y = self.attn(y)
        x = x + y
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.proj = nn.Conv2d(3, cfg.width, cfg.patch_size, cfg.patch_size)


class SamEncoder(nn.Module):
    """pixels [B,3,S,S] -> compressed map [B,C_last,S/64,S/64] (ceil per stride-2 conv)."""

    def __init__(self, cfg):
        super().__init__()
        g = cfg.img_size // cfg.patch_size
        self.patch_embed = PatchEmbed(cfg)
        self.pos_embed = nn.Parameter(torch.zeros(1, g, g, cfg.width))
        self.blocks = nn.ModuleList(
            SamBlock(cfg, 0 if i in cfg.global_attn_indexes else cfg.window_size) for i in range(cfg.depth))
        n = cfg.neck_channels
        self.neck = nn.Sequential(nn.Conv2d(cfg.width, n, 1, bias=False), LayerNorm2d(n, cfg.eps),
                                  nn.Conv2d(n, n, 3, padding=1, bias=False), LayerNorm2d(n, cfg.eps))
        c2, c3 = cfg.compressor_channels
        self.net_2 = nn.Conv2d(n, c2, 3, stride=2, padding=1, bias=False)
        self.net_3 = nn.Conv2d(c2, c3, 3, stride=2, padding=1, bias=False)

    def forward(self, px):
        x = self.patch_embed.proj(px).permute(0, 2, 3, 1)      # [B,h,w,C]
        x = x + resize_grid_bicubic(self.pos_embed, x.shape[1])
        for blk in self.blocks:
            x = blk(x)
        x = self.neck(x.permute(0, 3, 1, 2))
        return self.net_3(self.net_2(x))


class ClipEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        g = cfg.image_size // cfg.patch_size
        self.class_embedding = nn.Parameter(torch.zeros(cfg.hidden))
        # In the checkpoint, unused at run time (the SAM map is the patch embedding).
        self.patch_embedding = nn.Conv2d(3, cfg.hidden, cfg.patch_size, cfg.patch_size, bias=False)
        self.position_embedding = nn.Embedding(g * g + 1, cfg.hidden)
        self.register_buffer("position_ids", torch.arange(g * g + 1).unsqueeze(0), persistent=True)

    def forward(self, patch_map):                              # [B,C,h,w]
        b, c, h, w = patch_map.shape
        x = patch_map.flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(b, 1, c), x], dim=1)
        pos = self.position_embedding.weight
        src = int(math.isqrt(pos.shape[0] - 1))
        tgt = int(math.isqrt(h * w))
        grid = resize_grid_bicubic(pos[1:].reshape(1, src, src, c), tgt).reshape(tgt * tgt, c)
        return x + torch.cat([pos[:1], grid], dim=0).unsqueeze(0)


class ClipAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.heads = cfg.heads
        self.qkv_proj = nn.Linear(cfg.hidden, 3 * cfg.hidden)
        self.out_proj = nn.Linear(cfg.hidden, cfg.hidden)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv_proj(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax((q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5, dim=-1)
        return self.out_proj((att @ v).transpose(1, 2).reshape(b, n, c))


class ClipMlp(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden, cfg.ffn)
        self.fc2 = nn.Linear(cfg.ffn, cfg.hidden)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))          # quick_gelu


class ClipLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.self_attn = ClipAttention(cfg)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.mlp = ClipMlp(cfg)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class ClipTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList(ClipLayer(cfg) for _ in range(cfg.layers))


class ClipEncoder(nn.Module):
    """compressed SAM map [B,C,h,w] -> [B,1+h*w,C] (class token first, no post-norm)."""

    def __init__(self, cfg):
        super().__init__()
        self.embeddings = ClipEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.transformer = ClipTransformer(cfg)

    def forward(self, patch_map):
        x = self.pre_layrnorm(self.embeddings(patch_map))
        for layer in self.transformer.layers:
            x = layer(x)
        return x


class Projector(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.layers = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.layers(x)
