"""Image preprocessing and prompt layout of DeepSeek-OCR, as the published
process/image_process.py does it (Pillow resize/pad, tile-grid choice).

Used by make_tiny.py (fixtures) and by anyone checking the plugin's
preprocessing. All resizes are Pillow's BICUBIC (Image.resize default for RGB,
ImageOps.pad default).
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps

PATCH = 16
DOWNSAMPLE = 4
PAD_COLOR = (127, 127, 127)         # int(0.5 * 255) per channel
IMAGE_TOKEN = "<image>"


@dataclass(frozen=True)
class Mode:
    name: str
    base_size: int                  # global view side
    image_size: int                 # tile side (== base_size when not cropping)
    crop: bool


MODES = {
    "tiny": Mode("tiny", 512, 512, False),
    "small": Mode("small", 640, 640, False),
    "base": Mode("base", 1024, 1024, False),
    "large": Mode("large", 1280, 1280, False),
    "gundam": Mode("gundam", 1024, 640, True),
}
MIN_CROPS = 2
MAX_CROPS = 6                       # DeepSeek's vLLM config.py; the HF remote code uses 9


def queries(side):
    """Tokens per row/column of one view: ceil((side/16)/4)."""
    return math.ceil((side // PATCH) / DOWNSAMPLE)


def candidate_grids(min_num=MIN_CROPS, max_num=MAX_CROPS):
    """(tw, th) with min <= tw*th <= max, sorted by tile count (stable over a set, as published)."""
    grids = set((i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1)
                for j in range(1, n + 1) if min_num <= i * j <= max_num)
    return sorted(grids, key=lambda r: r[0] * r[1])


def choose_grid(width, height, tile=640, min_num=MIN_CROPS, max_num=MAX_CROPS):
    """Closest aspect ratio; on an exact tie the later (larger) grid wins if the
    image area exceeds half the grid's pixel area."""
    aspect = width / height
    best, best_diff = (1, 1), float("inf")
    for r in candidate_grids(min_num, max_num):
        diff = abs(aspect - r[0] / r[1])
        if diff < best_diff:
            best, best_diff = r, diff
        elif diff == best_diff and width * height > 0.5 * tile * tile * r[0] * r[1]:
            best = r
    return best


def grid_for(mode, width, height, max_crops=MAX_CROPS):
    if not mode.crop or (width <= mode.image_size and height <= mode.image_size):
        return (1, 1)
    return choose_grid(width, height, mode.image_size, MIN_CROPS, max_crops)


def num_image_tokens(mode, width, height, max_crops=MAX_CROPS):
    q = queries(mode.base_size)
    n = q * (q + 1) + 1
    tw, th = grid_for(mode, width, height, max_crops)
    if tw * th > 1:
        qt = queries(mode.image_size)
        n += (qt * th) * (qt * tw + 1)
    return n


def views(image, mode, max_crops=MAX_CROPS):
    """RGB PIL image -> (global view PIL, [tile PILs row-major], (tw, th))."""
    image = image.convert("RGB")
    w, h = image.size
    grid = grid_for(mode, w, h, max_crops)
    tiles = []
    if grid != (1, 1):
        tw, th = grid
        big = image.resize((tw * mode.image_size, th * mode.image_size))
        s = mode.image_size
        tiles = [big.crop(((i % tw) * s, (i // tw) * s, (i % tw + 1) * s, (i // tw + 1) * s))
                 for i in range(tw * th)]
    if not mode.crop and mode.image_size <= 640:
        image = image.resize((mode.image_size, mode.image_size))   # Tiny/Small: aspect not kept
    glob = ImageOps.pad(image, (mode.base_size, mode.base_size), color=PAD_COLOR)
    return glob, tiles, grid


def to_tensor(pil):
    """uint8 HWC -> f32 [3,H,W] in [-1,1]: (x/255 - 0.5)/0.5."""
    a = torch.from_numpy(np.asarray(pil, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255.0
    return (a - 0.5) / 0.5


def prompt_ids(tokenizer, prompt, n_image_tokens, image_token_id, bos_id=0):
    """[BOS] + encode(text before <image>) + [<image>]*n + encode(text after); no EOS."""
    if prompt.count(IMAGE_TOKEN) != 1:
        raise ValueError(f"prompt must hold exactly one {IMAGE_TOKEN}: {prompt!r}")
    before, after = prompt.split(IMAGE_TOKEN)
    enc = lambda s: tokenizer.encode(s, add_special_tokens=False).ids if s else []
    return [bos_id] + enc(before) + [image_token_id] * n_image_tokens + enc(after)
