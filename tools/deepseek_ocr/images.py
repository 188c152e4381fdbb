"""Generated test pages (PIL drawings) of several sizes and aspect ratios.

Flat colours and thin lines so the PNGs stay small. Used by make_tiny.py.
"""
import random

from PIL import Image, ImageDraw

# name -> (width, height): wide (Gundam 2x1), tall (2x3 = 6 tiles), small (no tiles), banner (4x1)
PAGES = {"wide": (1000, 560), "tall": (700, 1100), "small": (480, 360), "banner": (1500, 400)}


def page(name, seed=0):
    w, h = PAGES[name]
    rng = random.Random(f"{name}-{seed}")
    im = Image.new("RGB", (w, h), (250, 248, 240))
    d = ImageDraw.Draw(im)
    d.rectangle((w // 20, h // 20, w - w // 20, h // 6), fill=(30, 60, 140))       # title bar
    y = h // 5
    while y < h - h // 10:                                                       # "text lines"
        x = w // 20
        while x < w - w // 10:
            ww = rng.randint(w // 40, w // 8)
            d.rectangle((x, y, min(x + ww, w - w // 20), y + max(3, h // 60)), fill=(20, 20, 20))
            x += ww + rng.randint(4, 12)
        y += max(8, h // 25)
    d.ellipse((w * 3 // 5, h // 2, w * 4 // 5, h * 3 // 4), outline=(200, 30, 30), width=3)
    d.line((0, h - 1, w - 1, 0), fill=(0, 140, 60), width=2)
    return im
