#!/usr/bin/env python3
"""Writes a random-weight Wan2.1 text-to-video checkpoint for benchmarks of
the vista plugin, in the diffusers layout it loads (plugins/vista/README.md,
"Checkpoint"): the Wan2.1-T2V-1.3B sizes (transformer 1.42B parameters, the
UMT5-XXL encoder 5.68B, the AutoencoderKLWan 0.13B; bf16, about 14.5 GB).
The tiny sizes need no maker: tests/data/vista/tiny is committed.

  python3 tools/vista/make_random.py --out DIR [--device cuda]
      [--dtype bf16|f16|f32] [--seed 0] [--layers N] [--text-layers N] [--vocab N]

--layers / --text-layers / --vocab shrink the depth of the transformer and
of the text encoder and the vocabulary while keeping the widths: e.g.
`--layers 1 --text-layers 1 --vocab 1002` is the released layout (every
tensor name and width) small enough to load and run on a CPU.

Writes DIR/transformer/ (config.json, diffusion_pytorch_model.safetensors),
DIR/text_encoder/ (config.json, model.safetensors: `shared.weight` and
`encoder.*`), DIR/tokenizer/ (the test tokenizer, tests/data/vista/tiny/
tokenizer: a 1,002-id T5 Unigram whose ids stay below every vocab here),
DIR/vae/ (config.json, diffusion_pytorch_model.safetensors: the whole
AutoencoderKLWan, encoder included though the plugin reads only
post_quant_conv and decoder.*), DIR/model_index.json and
DIR/scheduler/scheduler_config.json; prints the parameter count per folder
and the seconds taken.

Weights keep activations O(1) and finite: matrices and convolutions
N(0, 1/fan_in) (UMT5's q N(0, 1/(fan_in * d_kv)) since T5 attention has no
1/sqrt(d) scaling), biases and modulation tables N(0, 0.02^2), the relative
position bias N(0, 0.05^2), the UMT5 embedding N(0, 1), norms exactly 1.

Every tensor is drawn with torch on --device (default cuda when there is
one) and written as it comes, one tensor at a time: the safetensors format
(an 8-byte little-endian header length, the JSON header padded with spaces
to 8 bytes, the data with no gaps) is written here because the safetensors
library saves a whole dict at once, which would hold the 14.5 GB in host
memory (compare tools/deepseek_ocr/make_random.py, 6.7 GB, which does).
"""
import argparse
import json
import math
import pathlib
import shutil
import struct
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
TOKENIZER = REPO / "tests/data/vista/tiny/tokenizer"
TOKENIZER_IDS = 1002  # the test tokenizer's ids are 0..1001

# Wan2.1-T2V-1.3B (diffusers WanTransformer3DModel config of the release).
RELEASED_TRANSFORMER = {
    "num_attention_heads": 12, "attention_head_dim": 128, "in_channels": 16, "out_channels": 16,
    "text_dim": 4096, "freq_dim": 256, "ffn_dim": 8960, "num_layers": 30, "patch_size": [1, 2, 2],
    "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "image_dim": None,
    "added_kv_proj_dim": None, "rope_max_seq_len": 1024, "pos_embed_seq_len": None,
}
# UMT5-XXL encoder (google/umt5-xxl, the text encoder of every Wan2.1 model).
RELEASED_UMT5 = {
    "vocab_size": 256384, "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64,
    "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
    "feed_forward_proj": "gated-gelu", "dense_act_fn": "gelu_new", "is_gated_act": True,
    "layer_norm_epsilon": 1e-6, "tie_word_embeddings": False,
}
# AutoencoderKLWan defaults (diffusers 0.42.1), the Wan2.1 VAE.
LATENTS_MEAN = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
LATENTS_STD = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
               3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.916]
RELEASED_VAE = {
    "base_dim": 96, "decoder_base_dim": None, "z_dim": 16, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2,
    "attn_scales": [], "temperal_downsample": [False, True, True], "dropout": 0.0, "in_channels": 3,
    "out_channels": 3, "is_residual": False, "patch_size": None, "scale_factor_spatial": 8,
    "scale_factor_temporal": 4, "latents_mean": LATENTS_MEAN, "latents_std": LATENTS_STD,
}

BIAS_STD = 0.02


def matrix(name, shape, fan_in=None, std=None):
    """(name, shape, mean, std): N(0, 1/fan_in) unless std is given."""
    if std is None:
        std = 1.0 / math.sqrt(fan_in if fan_in is not None else math.prod(shape[1:]))
    return (name, tuple(shape), 0.0, std)


def ones(name, shape):
    return (name, tuple(shape), 1.0, 0.0)


def linear(prefix, n_in, n_out, bias=True, std=None):
    out = [matrix(prefix + ".weight", (n_out, n_in), std=std)]
    if bias:
        out.append(matrix(prefix + ".bias", (n_out,), std=BIAS_STD))
    return out


def transformer_tensors(c):
    """WanTransformer3DModel (diffusers names), as plugins/vista/wan_weights.cpp reads them."""
    dim = c["num_attention_heads"] * c["attention_head_dim"]
    pt, ph, pw = c["patch_size"]
    t = [matrix("patch_embedding.weight", (dim, c["in_channels"], pt, ph, pw)),
         matrix("patch_embedding.bias", (dim,), std=BIAS_STD)]
    t += linear("condition_embedder.time_embedder.linear_1", c["freq_dim"], dim)
    t += linear("condition_embedder.time_embedder.linear_2", dim, dim)
    t += linear("condition_embedder.time_proj", dim, 6 * dim)
    t += linear("condition_embedder.text_embedder.linear_1", c["text_dim"], dim)
    t += linear("condition_embedder.text_embedder.linear_2", dim, dim)
    for i in range(c["num_layers"]):
        p = f"blocks.{i}"
        t.append(matrix(p + ".scale_shift_table", (1, 6, dim), std=BIAS_STD))
        for attn in ("attn1", "attn2"):
            for proj in ("to_q", "to_k", "to_v", "to_out.0"):
                t += linear(f"{p}.{attn}.{proj}", dim, dim)
            t += [ones(f"{p}.{attn}.norm_q.weight", (dim,)), ones(f"{p}.{attn}.norm_k.weight", (dim,))]
        if c["cross_attn_norm"]:
            t += [ones(p + ".norm2.weight", (dim,)), matrix(p + ".norm2.bias", (dim,), std=BIAS_STD)]
        t += linear(p + ".ffn.net.0.proj", dim, c["ffn_dim"])
        t += linear(p + ".ffn.net.2", c["ffn_dim"], dim)
    t.append(matrix("scale_shift_table", (1, 2, dim), std=BIAS_STD))
    t += linear("proj_out", dim, c["out_channels"] * pt * ph * pw)
    return t


def umt5_tensors(c):
    """UMT5EncoderModel, as plugins/vista/umt5_encoder.cpp reads it (a relative bias in every layer)."""
    d, inner, ff = c["d_model"], c["num_heads"] * c["d_kv"], c["d_ff"]
    t = [matrix("shared.weight", (c["vocab_size"], d), std=1.0)]
    for i in range(c["num_layers"]):
        p = f"encoder.block.{i}.layer."
        t.append(ones(p + "0.layer_norm.weight", (d,)))
        t += linear(p + "0.SelfAttention.q", d, inner, bias=False, std=1.0 / math.sqrt(d * c["d_kv"]))
        t += linear(p + "0.SelfAttention.k", d, inner, bias=False)
        t += linear(p + "0.SelfAttention.v", d, inner, bias=False)
        t += linear(p + "0.SelfAttention.o", inner, d, bias=False)
        t.append(matrix(p + "0.SelfAttention.relative_attention_bias.weight",
                        (c["relative_attention_num_buckets"], c["num_heads"]), std=0.05))
        t.append(ones(p + "1.layer_norm.weight", (d,)))
        t += linear(p + "1.DenseReluDense.wi_0", d, ff, bias=False)
        t += linear(p + "1.DenseReluDense.wi_1", d, ff, bias=False)
        t += linear(p + "1.DenseReluDense.wo", ff, d, bias=False)
    t.append(ones("encoder.final_layer_norm.weight", (d,)))
    return t


def conv(prefix, n_in, n_out, kernel):
    return [matrix(prefix + ".weight", (n_out, n_in) + tuple(kernel)), matrix(prefix + ".bias", (n_out,), std=BIAS_STD)]


def residual(prefix, n_in, n_out):
    """WanResidualBlock: RMS norms (gamma [C, 1, 1, 1]), two causal 3x3x3 convs, a 1x1x1 shortcut."""
    t = [ones(prefix + ".norm1.gamma", (n_in, 1, 1, 1))]
    t += conv(prefix + ".conv1", n_in, n_out, (3, 3, 3))
    t.append(ones(prefix + ".norm2.gamma", (n_out, 1, 1, 1)))
    t += conv(prefix + ".conv2", n_out, n_out, (3, 3, 3))
    if n_in != n_out:
        t += conv(prefix + ".conv_shortcut", n_in, n_out, (1, 1, 1))
    return t


def mid_block(prefix, dim):
    """WanMidBlock(num_layers=1): residual, attention (gamma [C, 1, 1], 1x1 Conv2d), residual."""
    t = residual(prefix + ".resnets.0", dim, dim)
    t.append(ones(prefix + ".attentions.0.norm.gamma", (dim, 1, 1)))
    t += conv(prefix + ".attentions.0.to_qkv", dim, 3 * dim, (1, 1))
    t += conv(prefix + ".attentions.0.proj", dim, dim, (1, 1))
    return t + residual(prefix + ".resnets.1", dim, dim)


def vae_tensors(c):
    """AutoencoderKLWan (WanEncoder3d / WanDecoder3d of diffusers 0.42.1, not residual, no attn_scales)."""
    if c["attn_scales"] or c["is_residual"]:
        raise SystemExit("make_random: attn_scales and is_residual are not written")
    base, mult, z, blocks = c["base_dim"], c["dim_mult"], c["z_dim"], c["num_res_blocks"]
    t = []
    # Encoder: dims [1] + mult, residual blocks then a resample per level but the last.
    dims = [base * u for u in [1] + mult]
    t += conv("encoder.conv_in", c["in_channels"], dims[0], (3, 3, 3))
    index = 0
    for i, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
        for _ in range(blocks):
            t += residual(f"encoder.down_blocks.{index}", n_in, n_out)
            index += 1
            n_in = n_out
        if i != len(mult) - 1:
            p = f"encoder.down_blocks.{index}"
            t += conv(p + ".resample.1", n_out, n_out, (3, 3))
            if c["temperal_downsample"][i]:
                t += conv(p + ".time_conv", n_out, n_out, (3, 1, 1))
            index += 1
    t += mid_block("encoder.mid_block", dims[-1])
    t.append(ones("encoder.norm_out.gamma", (dims[-1], 1, 1, 1)))
    t += conv("encoder.conv_out", dims[-1], 2 * z, (3, 3, 3))
    t += conv("quant_conv", 2 * z, 2 * z, (1, 1, 1))
    t += conv("post_quant_conv", z, z, (1, 1, 1))
    # Decoder: dims [mult[-1]] + reversed mult; each level but the first takes half of the one
    # before (its upsampler halves the channels), num_res_blocks + 1 residual blocks, then a 2-D
    # or 3-D upsampler (temporal: temperal_downsample reversed) on every level but the last.
    dims = [base * u for u in [mult[-1]] + mult[::-1]]
    upsample_in_time = c["temperal_downsample"][::-1]
    t += conv("decoder.conv_in", z, dims[0], (3, 3, 3))
    t += mid_block("decoder.mid_block", dims[0])
    for i, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
        if i > 0:
            n_in //= 2
        p = f"decoder.up_blocks.{i}"
        for r in range(blocks + 1):
            t += residual(f"{p}.resnets.{r}", n_in if r == 0 else n_out, n_out)
        if i != len(mult) - 1:
            if upsample_in_time[i]:
                t += conv(p + ".upsamplers.0.time_conv", n_out, 2 * n_out, (3, 1, 1))
            t += conv(p + ".upsamplers.0.resample.1", n_out, n_out // 2, (3, 3))
    t.append(ones("decoder.norm_out.gamma", (dims[-1], 1, 1, 1)))
    t += conv("decoder.conv_out", dims[-1], c["out_channels"], (3, 3, 3))
    return t


DTYPES = {"bf16": ("BF16", 2), "f16": ("F16", 2), "f32": ("F32", 4)}


class TorchFill:
    """N(mean, std^2) drawn on the device in the output dtype, copied back as bytes."""

    def __init__(self, seed, dtype, device):
        import torch
        self.torch = torch
        self.device = device
        self.dtype = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[dtype]
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __call__(self, shape, mean, std):
        t = self.torch.empty(shape, dtype=self.dtype, device=self.device)
        if std == 0.0:
            t.fill_(mean)
        else:
            t.normal_(mean, std, generator=self.generator)
        return t.reshape(-1).view(self.torch.uint8).cpu().numpy()


def write_safetensors(path, tensors, fill, dtype):
    """The safetensors format, written tensor by tensor; returns the parameter count."""
    code, size = DTYPES[dtype]
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _, _ in tensors:
        if name in header:
            raise ValueError(f"tensor {name} twice")
        nbytes = math.prod(shape) * size
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape, mean, std in tensors:
            data = fill(shape, mean, std)
            assert len(data) == math.prod(shape) * size, name
            f.write(data)
    return sum(math.prod(shape) for _, shape, _, _ in tensors)


def write_json(path, value):
    path.write_text(json.dumps(value, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    parser.add_argument("--device", default=None, help="torch device (default: cuda when there is one, else cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layers", type=int, help="transformer blocks (default: 30)")
    parser.add_argument("--text-layers", type=int, help="UMT5 layers (default: 24)")
    parser.add_argument("--vocab", type=int, help=f"UMT5 vocabulary (default: 256,384; at least {TOKENIZER_IDS})")
    args = parser.parse_args()

    transformer = dict(RELEASED_TRANSFORMER)
    umt5 = dict(RELEASED_UMT5)
    vae = dict(RELEASED_VAE)
    if args.layers is not None:
        transformer["num_layers"] = args.layers
    if args.text_layers is not None:
        umt5["num_layers"] = args.text_layers
    if args.vocab is not None:
        umt5["vocab_size"] = args.vocab
    if umt5["vocab_size"] < TOKENIZER_IDS:
        parser.error(f"--vocab must be at least {TOKENIZER_IDS}: the tokenizer's ids reach {TOKENIZER_IDS - 1}")
    if transformer["text_dim"] != umt5["d_model"]:
        raise SystemExit("make_random: text_dim must equal the UMT5 d_model")

    import torch
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    fill, how = TorchFill(args.seed, args.dtype, device), f"torch on {device}"
    torch_dtype = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[args.dtype]

    started = time.time()
    out = args.out
    for folder in ("transformer", "text_encoder", "vae", "scheduler"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    shutil.copytree(TOKENIZER, out / "tokenizer", dirs_exist_ok=True)
    write_json(out / "transformer/config.json",
               {"_class_name": "WanTransformer3DModel", "_diffusers_version": "0.42.1", **transformer})
    write_json(out / "text_encoder/config.json",
               {"architectures": ["UMT5EncoderModel"], "model_type": "umt5", "dtype": torch_dtype,
                "is_encoder_decoder": True, "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
                "num_decoder_layers": umt5["num_layers"], **umt5})
    write_json(out / "vae/config.json", {"_class_name": "AutoencoderKLWan", "_diffusers_version": "0.42.1", **vae})
    write_json(out / "scheduler/scheduler_config.json",
               {"_class_name": "UniPCMultistepScheduler", "_diffusers_version": "0.42.1",
                "num_train_timesteps": 1000, "flow_shift": 5.0, "prediction_type": "flow_prediction",
                "use_flow_sigmas": True})
    write_json(out / "model_index.json",
               {"_class_name": "WanPipeline", "_diffusers_version": "0.42.1",
                "scheduler": ["diffusers", "UniPCMultistepScheduler"],
                "text_encoder": ["transformers", "UMT5EncoderModel"], "tokenizer": ["transformers", "T5TokenizerFast"],
                "transformer": ["diffusers", "WanTransformer3DModel"], "vae": ["diffusers", "AutoencoderKLWan"]})
    counts = {}
    parts = (("transformer", "diffusion_pytorch_model.safetensors", transformer_tensors(transformer)),
             ("text_encoder", "model.safetensors", umt5_tensors(umt5)),
             ("vae", "diffusion_pytorch_model.safetensors", vae_tensors(vae)))
    for folder, file, tensors in parts:
        counts[folder] = write_safetensors(out / folder / file, tensors, fill, args.dtype)
    total = sum(counts.values())
    print(f"make_random: {total:,} parameters ({', '.join(f'{k} {v:,}' for k, v in counts.items())}), "
          f"{args.dtype}, to {out} in {time.time() - started:.1f} s ({how})")


if __name__ == "__main__":
    sys.exit(main())
