"""A numpy float32 forward pass of Llama-family decoders (Llama, Mistral, Qwen2, Qwen3).

Used at setup time, where torch is absent: quantize_model.py runs the
calibration text through it layer by layer to collect GPTQ Hessians, and
perplexity.py scores held-out text. Follows the transformers implementation
(RMSNorm in float32, rotate-half RoPE incl. llama3 scaling, GQA, Qwen3 q/k norm).
"""
import math

import numpy as np

import gptq_checkpoint
import hf_checkpoint


def rope_settings(config):
    """(theta, scaling dict or None) from either rope_parameters or rope_theta/rope_scaling."""
    params = config.get("rope_parameters") or {}
    theta = params.get("rope_theta", config.get("rope_theta", 10000.0))
    scaling = config.get("rope_scaling") or params
    kind = scaling.get("rope_type", scaling.get("type", "default")) if scaling else "default"
    return float(theta), (scaling if kind != "default" else None)


def inverse_frequencies(config, head_dim):
    theta, scaling = rope_settings(config)
    inv_freq = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    if scaling is None:
        return inv_freq
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        return inv_freq / scaling["factor"]
    if kind != "llama3":
        raise ValueError(f"config.json: rope type {kind} is not supported")
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    original = scaling["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > original / low, inv_freq / factor, inv_freq)
    smooth = (original / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= original / high) & (wavelen <= original / low)
    return np.where(medium, smoothed, scaled)


def rms_norm(x, weight, eps):
    variance = np.mean(x * x, axis=-1, keepdims=True)
    return (x / np.sqrt(variance + eps)) * weight


def rotate(x, cos, sin):
    """Rotate-half RoPE; x [B, T, H, D], cos/sin [T, D]."""
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos[None, :, None, :] + rotated * sin[None, :, None, :]


class NumpyCausalLM:
    def __init__(self, config, tensors):
        self.config = config
        self.t = tensors
        self.layers = config["num_hidden_layers"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads") or self.heads
        self.head_dim = config.get("head_dim") or config["hidden_size"] // self.heads
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.inv_freq = inverse_frequencies(config, self.head_dim)
        tied = config.get("tie_word_embeddings", False) or "lm_head.weight" not in tensors
        self.lm_head = tensors["model.embed_tokens.weight"] if tied else tensors["lm_head.weight"]

    def _linear(self, x, name):
        # 2-D, so numpy hands the product to BLAS (a batched 3-D product with a
        # transposed operand takes a slow non-BLAS loop)
        y = (x.reshape(-1, x.shape[-1]) @ self.t[f"{name}.weight"].T).reshape(*x.shape[:-1], -1)
        bias = self.t.get(f"{name}.bias")
        return y if bias is None else y + bias

    def embed(self, ids):
        return self.t["model.embed_tokens.weight"][np.asarray(ids)].astype(np.float32)

    def attention(self, i, x):
        """Self-attention of layer i on its normalized input x [B, T, hidden], before o_proj."""
        p = f"model.layers.{i}.self_attn"
        batch, steps, _ = x.shape
        q = self._linear(x, f"{p}.q_proj").reshape(batch, steps, self.heads, self.head_dim)
        k = self._linear(x, f"{p}.k_proj").reshape(batch, steps, self.kv_heads, self.head_dim)
        v = self._linear(x, f"{p}.v_proj").reshape(batch, steps, self.kv_heads, self.head_dim)
        if f"{p}.q_norm.weight" in self.t:
            q = rms_norm(q, self.t[f"{p}.q_norm.weight"], self.eps)
            k = rms_norm(k, self.t[f"{p}.k_norm.weight"], self.eps)
        angles = np.arange(steps)[:, None] * self.inv_freq[None, :]
        angles = np.concatenate([angles, angles], axis=-1)
        cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        group = self.heads // self.kv_heads
        k = np.repeat(k, group, axis=2)
        v = np.repeat(v, group, axis=2)
        q, k, v = (np.ascontiguousarray(a.transpose(0, 2, 1, 3)) for a in (q, k, v))  # [B, H, T, D]
        scores = (q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2))) / np.float32(math.sqrt(self.head_dim))
        scores = scores + np.triu(np.full((steps, steps), -np.inf, dtype=np.float32), 1)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        return (scores @ v).transpose(0, 2, 1, 3).reshape(batch, steps, self.heads * self.head_dim)

    def gated_activation(self, i, x):
        """silu(gate(x)) * up(x) of layer i: the input of down_proj."""
        p = f"model.layers.{i}.mlp"
        gate = self._linear(x, f"{p}.gate_proj")
        return gate / (1.0 + np.exp(-gate)) * self._linear(x, f"{p}.up_proj")

    def layer(self, i, h, before_linears=None):
        """One decoder layer on h [B, T, hidden]. before_linears(kind, x), if given, is
        called with each linear input before the linears use it (kinds 'qkv', 'o_proj',
        'gate_up', 'down_proj'), so a quantizer can replace their weights in between."""
        notify = before_linears or (lambda kind, x: None)
        p = f"model.layers.{i}"
        x = rms_norm(h, self.t[f"{p}.input_layernorm.weight"], self.eps)
        notify("qkv", x)
        attn = self.attention(i, x)
        notify("o_proj", attn)
        h = h + self._linear(attn, f"{p}.self_attn.o_proj")
        x = rms_norm(h, self.t[f"{p}.post_attention_layernorm.weight"], self.eps)
        notify("gate_up", x)
        act = self.gated_activation(i, x)
        notify("down_proj", act)
        return h + self._linear(act, f"{p}.mlp.down_proj")

    def logits(self, h):
        return rms_norm(h, self.t["model.norm.weight"], self.eps) @ self.lm_head.T

    def forward(self, ids):
        """Logits [B, T, vocab] for token ids [B, T]."""
        h = self.embed(ids)
        for i in range(self.layers):
            h = self.layer(i, h)
        return self.logits(h)


def load(model_dir):
    """A NumpyCausalLM from an HF directory (fp16/bf16/fp32 or GPTQ, dequantized)."""
    config = hf_checkpoint.read_config(model_dir)
    tensors = hf_checkpoint.read_model_tensors(model_dir)
    quant = config.get("quantization_config")
    if quant:
        tensors = gptq_checkpoint.dequantize_checkpoint(tensors, quant)
    tensors = {k: v.astype(np.float32) for k, v in tensors.items()}
    return NumpyCausalLM(config, tensors)
