"""Writes a random-weight DeepSeek-OCR checkpoint for benchmarks: the released
sizes (3,336,106,240 parameters, bf16, about 6.7 GB) or the tiny test sizes.

  python -m deepseek_ocr.make_random --out DIR [--tiny] [--device cuda] [--seed 0]   (run from tools/)

Writes DIR/model.safetensors (released tensor names) and DIR/config.json;
the tokenizer files are the caller's (bench/ocr_pages/end_to_end.sh copies
the test tokenizer, whose special tokens sit at their real ids). Weights
keep activations O(1): norms near 1, the rest N(0, 1/fan_in), the router
too, so tokens spread over the experts as a trained router's do (not the
zeros a fresh module holds). Needs torch and safetensors only.
"""
import argparse
import pathlib

import torch

from . import config as C
from .model import DeepseekOcr


def randomize(model, seed, device):
    g = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.is_floating_point():
                continue
            if name.endswith("weight") and p.dim() == 1 and "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g, device=device))
            elif p.dim() <= 1:
                p.copy_(0.05 * torch.randn(p.shape, generator=g, device=device))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g, device=device) / fan_in ** 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--tiny", action="store_true", help="the test sizes instead of the released ones")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cfg = C.tiny() if args.tiny else C.released()
    with torch.device(args.device):
        model = DeepseekOcr(cfg)
    randomize(model, args.seed, args.device)
    model.to(torch.bfloat16).cpu().save(args.out, torch.bfloat16)
    count = sum(p.numel() for p in model.parameters())
    print(f"make_random: {count:,} parameters to {args.out}/model.safetensors")


if __name__ == "__main__":
    main()
