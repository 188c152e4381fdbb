"""Cross-checks this reference against transformers' deepseek_ocr2 (>= 5.24),
whose SAM encoder + compressor and MoE text model are DeepSeek-OCR's.

  python -m deepseek_ocr.compare_transformers --model tests/data/deepseek-ocr/model   (from tools/)

Loads the same weights (names remapped) into both and prints the max relative
error (max |a-b| / max |b|) per part and input size. Exits 1 above --tol.
CLIP-L, the projector and the image layout have no counterpart there.
"""
import argparse
import sys

import torch
from transformers.models.deepseek_ocr2 import modeling_deepseek_ocr2 as hf
from transformers.models.deepseek_ocr2.configuration_deepseek_ocr2 import (DeepseekOcr2SamVisionConfig,
                                                                           DeepseekOcr2TextConfig)

from . import config as C
from .model import DeepseekOcr
from .text import DecoderLayer
from .vision import SamEncoder


def rel_err(a, b):
    return float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-30))


def sam_to_hf(sd):
    """model.sam_model.* -> DeepseekOcr2SamVisionEncoder names."""
    ren = {"patch_embed.proj.": "patch_embed.projection.", "neck.0.": "neck.conv1.", "neck.1.": "neck.layer_norm1.",
           "neck.2.": "neck.conv2.", "neck.3.": "neck.layer_norm2.", "net_2.": "proj.conv1.", "net_3.": "proj.conv2."}
    out = {}
    for k, v in sd.items():
        if not k.startswith("model.sam_model."):
            continue
        k = k[len("model.sam_model."):]
        for a, b in ren.items():
            if k.startswith(a):
                k = b + k[len(a):]
        k = k.replace("blocks.", "layers.").replace(".norm1.", ".layer_norm1.").replace(".norm2.", ".layer_norm2.")
        out[k] = v
    return out


def text_to_hf(sd, n_layers, n_experts):
    """model.{embed_tokens,layers,norm}.* -> DeepseekOcr2TextModel names (experts fused)."""
    out = {}
    for k, v in sd.items():
        if k.startswith("model.embed_tokens.") or k.startswith("model.norm."):
            out[k[len("model."):]] = v
        elif k.startswith("model.layers.") and ".mlp.experts." not in k:
            out[k[len("model."):]] = v
    for i in range(n_layers):
        p = f"model.layers.{i}.mlp.experts."
        if p + "0.gate_proj.weight" not in sd:
            continue
        gu = [torch.cat([sd[f"{p}{e}.gate_proj.weight"], sd[f"{p}{e}.up_proj.weight"]], 0) for e in range(n_experts)]
        out[f"layers.{i}.mlp.experts.gate_up_proj"] = torch.stack(gu)
        out[f"layers.{i}.mlp.experts.down_proj"] = torch.stack(
            [sd[f"{p}{e}.down_proj.weight"] for e in range(n_experts)])
    return out


def load_strict(module, sd, what):
    missing, unexpected = module.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise SystemExit(f"{what}: missing {missing} unexpected {unexpected}")


def hf_sam(cfg):
    s = cfg.sam
    c = DeepseekOcr2SamVisionConfig(
        hidden_size=s.width, output_channels=s.neck_channels, num_hidden_layers=s.depth,
        num_attention_heads=s.heads, image_size=s.img_size, patch_size=s.patch_size, layer_norm_eps=s.eps,
        window_size=s.window_size, global_attn_indexes=list(s.global_attn_indexes),
        mlp_dim=s.width * s.mlp_ratio, downsample_channels=list(s.compressor_channels))
    c._attn_implementation = "eager"
    return hf.DeepseekOcr2SamVisionEncoder(c).eval()


def hf_text(cfg):
    t = cfg.text
    c = DeepseekOcr2TextConfig(
        vocab_size=t.vocab_size, hidden_size=t.hidden, intermediate_size=t.intermediate,
        num_hidden_layers=t.layers, num_attention_heads=t.heads, num_key_value_heads=t.heads,
        max_position_embeddings=t.max_position_embeddings, rms_norm_eps=t.rms_eps,
        rope_parameters={"rope_type": "default", "rope_theta": t.rope_theta},
        n_group=1, topk_group=1, n_routed_experts=t.n_routed_experts, n_shared_experts=t.n_shared_experts,
        routed_scaling_factor=t.routed_scaling_factor, topk_method="greedy", num_experts_per_tok=t.top_k,
        moe_intermediate_size=t.moe_intermediate,
        mlp_layer_types=["dense" if i < t.first_k_dense_replace else "sparse" for i in range(t.layers)])
    c._attn_implementation = "eager"
    assert c.head_dim == t.head_dim, "transformers derives head_dim = hidden/heads"
    return hf.DeepseekOcr2TextModel(c).eval()


def randomize(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1:
                p.copy_((1.0 if name.endswith("weight") and "norm" in name else 0.0) + 0.05 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)


def released_parts(size, seq):
    """Released widths: SAM-base at `size`, and layers 0 (dense) + 1 (MoE, 64 experts top-6) of the decoder."""
    cfg = C.released()
    ours = SamEncoder(cfg.sam).eval()
    randomize(ours, 1)
    theirs = hf_sam(cfg)
    load_strict(theirs, sam_to_hf({"model.sam_model." + k: v for k, v in ours.state_dict().items()}), "SAM")
    with torch.no_grad():
        px = torch.rand(1, 3, size, size) * 2 - 1
        e_sam = rel_err(ours(px), theirs(px).last_hidden_state)
    print(f"released SAM+neck+compressor {size}x{size}  max rel err {e_sam:.2e}", flush=True)
    del ours, theirs
    cfg.text.layers = 2
    cfg.text.vocab_size = 1000
    layers = torch.nn.ModuleList(DecoderLayer(cfg.text, i) for i in range(2)).eval()
    randomize(layers, 2)
    sd = {f"model.layers.{k}": v for k, v in layers.state_dict().items()}
    sd["model.embed_tokens.weight"] = torch.randn(1000, cfg.text.hidden)
    sd["model.norm.weight"] = torch.ones(cfg.text.hidden)
    theirs = hf_text(cfg)
    load_strict(theirs, text_to_hf(sd, 2, cfg.text.n_routed_experts), "text")
    with torch.no_grad():
        x = torch.randn(seq, cfg.text.hidden)
        h = x
        for layer in layers:
            h = layer(h)
        ref = theirs(inputs_embeds=x[None]).last_hidden_state[0]
        from .text import RMSNorm
        norm = RMSNorm(cfg.text.hidden, cfg.text.rms_eps)
        e_txt = rel_err(norm(h), ref)
    print(f"released decoder layers 0-1 (1280 wide, 64 experts top-6) T={seq}  max rel err {e_txt:.2e}", flush=True)
    return max(e_sam, e_txt)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--sizes", default="512,640,1024,1280")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--seq", type=int, default=300)
    ap.add_argument("--released-size", type=int, default=0,
                    help="also compare released-width SAM at this image size and decoder layers 0-1")
    a = ap.parse_args()
    torch.manual_seed(0)
    ours = DeepseekOcr.load(a.model, torch.float32)
    cfg = ours.cfg
    sd = ours.state_dict()
    worst = 0.0

    sam = hf_sam(cfg)
    load_strict(sam, sam_to_hf(sd), "SAM")
    with torch.no_grad():
        for s in map(int, a.sizes.split(",")):
            px = torch.rand(1, 3, s, s) * 2 - 1
            e = rel_err(ours.model.sam_model(px), sam(px).last_hidden_state)
            worst = max(worst, e)
            print(f"SAM+neck+compressor  {s}x{s}  max rel err {e:.2e}", flush=True)

    text = hf_text(cfg)
    load_strict(text, text_to_hf(sd, cfg.text.layers, cfg.text.n_routed_experts), "text")
    with torch.no_grad():
        used = torch.nonzero(ours.model.embed_tokens.weight.abs().sum(1)).flatten()
        used = used[used != cfg.image_token_id]
        ids = used[torch.randint(0, len(used), (a.seq,))]
        x = ours.embed(ids)
        x[10:10 + 50] = torch.randn(50, cfg.text.hidden)       # stand-ins for image embeddings
        h_ref = text(inputs_embeds=x[None]).last_hidden_state[0]
        lg_hf = ours.lm_head(h_ref)
        lg = ours.logits(x, slice(None))
        e = rel_err(lg, lg_hf)
        worst = max(worst, e)
        agree = float((lg.argmax(-1) == lg_hf.argmax(-1)).float().mean())
        print(f"MoE decoder logits    T={a.seq}  max rel err {e:.2e}  argmax agreement {agree:.3f}")
    if a.released_size:
        worst = max(worst, released_parts(a.released_size, 64))
    print(f"worst {worst:.2e} (tol {a.tol:.0e})")
    sys.exit(0 if worst <= a.tol else 1)


if __name__ == "__main__":
    main()
