"""Chunked causal generation on diffusers' WanTransformer3DModel (the PyTorch
counterpart of the C++ `vista` plugin; used by make_vista_reference.py).

Self-Forcing style (guandeh17/Self-Forcing pipeline/causal_inference.py):
chunks of FRAMES_PER_CHUNK latent frames, bidirectional inside a chunk, every
chunk attending to the self-attention K/V (after q/k RMSNorm and RoPE) of all
finished chunks; per-frame timesteps; after the last denoising step one pass at
timestep 0 on the clean chunk writes its K/V into the cache.

Only the self-attention processor and the RoPE frame offset are ours; every
other operation is diffusers' own module code.
"""
import torch
import torch.nn.functional as F

FRAMES_PER_CHUNK = 3
# Self-Forcing configs/self_forcing_dmd.yaml: denoising_step_list, warped by the
# shifted flow-matching table (shift 5, 1000 train steps, extra_one_step).
SELF_FORCING_STEPS = [1000, 750, 500, 250]
SELF_FORCING_SHIFT = 5.0
CONTEXT_NOISE = 0  # timestep of the cache-writing pass (configs/default_config.yaml)


def warped_timesteps(steps=SELF_FORCING_STEPS, shift=SELF_FORCING_SHIFT, train_steps=1000):
    """Model timesteps of Self-Forcing's warp_denoising_step: the shifted table
    timesteps[train_steps - step], sigma_i = 1 - i/train_steps shifted by
    s' = shift*s / (1 + (shift-1)*s); timestep = 1000*s'. Index 1000 is 0."""
    out = []
    for step in steps:
        s = 1.0 - (train_steps - step) / train_steps
        out.append(1000.0 * shift * s / (1.0 + (shift - 1.0) * s))
    return out


def apply_rope(x, cos, sin):
    """diffusers' Wan RoPE: pairs (2i, 2i+1) rotated; x [B, S, H, D]."""
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
    c, s = cos[..., 0::2], sin[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * c - x2 * s
    out[..., 1::2] = x1 * s + x2 * c
    return out.type_as(x)


class CachedSelfAttnProcessor:
    """attn1 processor: the chunk's queries attend to [cached K/V of finished
    chunks ; the chunk's own K/V]. With `commit` set the chunk's K/V are
    appended to the cache after the attention (the timestep-0 pass)."""

    def __init__(self):
        self.k = None  # [B, L, H, D], keys after norm_k and RoPE
        self.v = None
        self.commit = False

    def reset(self):
        self.k = self.v = None

    def cached_tokens(self):
        return 0 if self.k is None else self.k.shape[1]

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        assert encoder_hidden_states is None and attention_mask is None
        q = attn.norm_q(attn.to_q(hidden_states)).unflatten(2, (attn.heads, -1))
        k = attn.norm_k(attn.to_k(hidden_states)).unflatten(2, (attn.heads, -1))
        v = attn.to_v(hidden_states).unflatten(2, (attn.heads, -1))
        q = apply_rope(q, *rotary_emb)
        k = apply_rope(k, *rotary_emb)
        keys = k if self.k is None else torch.cat([self.k, k], dim=1)
        values = v if self.v is None else torch.cat([self.v, v], dim=1)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), keys.transpose(1, 2), values.transpose(1, 2))
        out = out.transpose(1, 2).flatten(2, 3).type_as(q)
        if self.commit:
            self.k, self.v = keys.detach(), values.detach()
        return attn.to_out[1](attn.to_out[0](out))


class OffsetRope(torch.nn.Module):
    """model.rope replacement: RoPE of frames [start, start+F) instead of [0, F)
    (absolute frame index, as Self-Forcing's current_start // frame_seq_len)."""

    def __init__(self, rope):
        super().__init__()
        self.inner = rope
        self.start_frame = 0

    def forward(self, hidden_states):
        b, c, f, h, w = hidden_states.shape
        full = hidden_states[:, :, :1].expand(b, c, self.start_frame + f, h, w)
        cos, sin = self.inner(full)
        first = cos.shape[1] // (self.start_frame + f) * self.start_frame
        return cos[:, first:], sin[:, first:]


class CausalWan:
    """Wraps a WanTransformer3DModel for chunked causal calls. Installs the
    cached processors and the offset RoPE on the model (in place)."""

    def __init__(self, model):
        self.model = model
        self.procs = []
        for block in model.blocks:
            proc = CachedSelfAttnProcessor()
            block.attn1.set_processor(proc)
            self.procs.append(proc)
        if not isinstance(model.rope, OffsetRope):
            model.rope = OffsetRope(model.rope)
        p_t, p_h, p_w = model.config.patch_size
        assert p_t == 1
        self.patch_hw = (p_h, p_w)

    def reset(self):
        for proc in self.procs:
            proc.reset()

    def cached_frames(self, tokens_per_frame):
        return self.procs[0].cached_tokens() // tokens_per_frame

    def forward_chunk(self, latents, frame_timesteps, text, commit=False):
        """latents [B, C, F, H, W] of the frames after the cached ones;
        frame_timesteps [B, F]; text [B, L, text_dim]. Returns the model output
        (flow prediction v = noise - x0) [B, C, F, H, W]."""
        b, _, f, h, w = latents.shape
        tokens_per_frame = (h // self.patch_hw[0]) * (w // self.patch_hw[1])
        self.model.rope.start_frame = self.cached_frames(tokens_per_frame)
        for proc in self.procs:
            proc.commit = commit
        per_token = frame_timesteps.repeat_interleave(tokens_per_frame, dim=1)
        try:
            return self.model(latents, timestep=per_token, encoder_hidden_states=text, return_dict=False)[0]
        finally:
            for proc in self.procs:
                proc.commit = False

    def generate(self, noise, text, renoise, timesteps):
        """Whole causal generation. noise [B, C, T, H, W] with T a multiple of
        FRAMES_PER_CHUNK; renoise[c][i] the fresh noise [B, C, 3, H, W] of chunk c
        after step i (len(timesteps)-1 per chunk); timesteps: model timesteps
        (sigma = t/1000). Returns the clean latents [B, C, T, H, W]."""
        self.reset()
        b, c, t_total, h, w = noise.shape
        out = torch.empty_like(noise)
        for chunk in range(t_total // FRAMES_PER_CHUNK):
            sl = slice(chunk * FRAMES_PER_CHUNK, (chunk + 1) * FRAMES_PER_CHUNK)
            x = noise[:, :, sl]
            for i, t in enumerate(timesteps):
                ts = torch.full((b, FRAMES_PER_CHUNK), float(t), dtype=noise.dtype)
                v = self.forward_chunk(x, ts, text)
                x0 = x - (t / 1000.0) * v
                if i + 1 < len(timesteps):
                    s_next = timesteps[i + 1] / 1000.0
                    x = (1.0 - s_next) * x0 + s_next * renoise[chunk][i]
            out[:, :, sl] = x0
            ctx = torch.full((b, FRAMES_PER_CHUNK), float(CONTEXT_NOISE), dtype=noise.dtype)
            self.forward_chunk(x0, ctx, text, commit=True)
        return out
