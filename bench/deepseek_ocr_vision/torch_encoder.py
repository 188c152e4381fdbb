"""PyTorch figure beside `bench_deepseek_ocr_vision --cuda`: images/s of the
DeepEncoder (SAM-base + compressor + CLIP-L + projector, the image-token
layout included) at the released sizes, random weights, batch 1, per
resolution mode, on the same 1240x1754 page size and the same views.

The model is the independent reference in tools/deepseek_ocr (written from
the published code), run on CUDA in bf16 two ways:
  eager  its attention as written (softmax of explicit Q.K^T + bias);
  sdpa   its attention through torch's scaled_dot_product_attention with the
         SAM relative-position bias as attn_mask, as DeepSeek's published
         deepencoder does (the fast path a PyTorch user gets).

    python3 bench/deepseek_ocr_vision/torch_encoder.py [--iterations 5] [--mode base]...

Figures are printed, never checked. Needs torch (with CUDA for the figures), numpy and
Pillow.
"""
import argparse
import pathlib
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tools.deepseek_ocr import preprocess, vision  # noqa: E402
from tools.deepseek_ocr.config import OcrConfig, TextConfig  # noqa: E402
from tools.deepseek_ocr.model import DeepseekOcr  # noqa: E402

PAGE = (1240, 1754)  # A4 at 150 dpi, as bench_deepseek_ocr_vision's page


def sam_attention_sdpa(self, x):
    b, h, w, c = x.shape
    qkv = self.qkv(x).reshape(b, h * w, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    rh = vision.rel_pos_table(h, h, self.rel_pos_h)
    rw = vision.rel_pos_table(w, w, self.rel_pos_w)
    rq = q.reshape(b, self.heads, h, w, -1)
    bias_h = torch.einsum("bnhwc,hkc->bnhwk", rq, rh)
    bias_w = torch.einsum("bnhwc,wkc->bnhwk", rq, rw)
    bias = (bias_h[..., :, None] + bias_w[..., None, :]).reshape(b, self.heads, h * w, h * w)
    o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    return self.proj(o.permute(0, 2, 1, 3).reshape(b, h, w, c))


def clip_attention_sdpa(self, x):
    b, n, c = x.shape
    qkv = self.qkv_proj(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
    o = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
    return self.out_proj(o.transpose(1, 2).reshape(b, n, c))


def page_image():
    from PIL import Image, ImageDraw
    image = Image.new("RGB", PAGE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for y in range(120, 1650, 36):
        draw.rectangle((100, y, 1140, y + 17), fill=(40, 40, 40))
    return image


def views_on_device(mode, device):
    glob, tiles, grid = preprocess.views(page_image(), preprocess.MODES[mode])
    glob_px = preprocess.to_tensor(glob)[None].to(device)
    tiles_px = torch.stack([preprocess.to_tensor(t) for t in tiles]).to(device) if tiles else None
    return glob_px, tiles_px, grid


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_mode(model, mode, iterations, device):
    glob_px, tiles_px, grid = views_on_device(mode, device)
    seconds = []
    tokens = 0
    for it in range(iterations + 1):  # the first is a warm-up
        synchronize(device)
        start = time.perf_counter()
        embeddings, _ = model.image_embeddings(glob_px, tiles_px, grid)
        synchronize(device)
        if it:
            seconds.append(time.perf_counter() - start)
        tokens = embeddings.shape[0]
    seconds.sort()
    median = seconds[len(seconds) // 2]
    views = 1 + (0 if tiles_px is None else tiles_px.shape[0])
    return views, grid, tokens, median


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", action="append", choices=list(preprocess.MODES))
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--device", default="cuda", help="cuda (bf16) or cpu (f32, to try the script)")
    args = parser.parse_args()
    modes = args.mode or list(preprocess.MODES)
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32

    torch.manual_seed(0)
    # The decoder is not timed here: no layers, the real projector width.
    cfg = OcrConfig(text=TextConfig(layers=0))
    model = DeepseekOcr(cfg).to(device, dtype).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__}, {where}, DeepEncoder released sizes, random {dtype} weights, "
          f"batch 1, page {PAGE[0]}x{PAGE[1]}")
    eager = (vision.SamAttention.forward, vision.ClipAttention.forward)
    for name in ("eager", "sdpa"):
        if name == "sdpa":
            vision.SamAttention.forward = sam_attention_sdpa
            vision.ClipAttention.forward = clip_attention_sdpa
        else:
            vision.SamAttention.forward, vision.ClipAttention.forward = eager
        for mode in modes:
            views, grid, tokens, median = time_mode(model, mode, args.iterations, device)
            print(f"{name:5s} {mode:7s} {views} view(s) ({grid[0]}x{grid[1]} tiles), {tokens} tokens: "
                  f"{median * 1e3:.2f} ms/image ({1.0 / median:.2f} images/s)")


if __name__ == "__main__":
    main()
