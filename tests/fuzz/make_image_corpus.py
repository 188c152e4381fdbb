#!/usr/bin/env python3
"""Writes the seed corpus of the image_decode fuzz target (tests/fuzz/corpus/image_decode/).

Tiny images of every format the OCR path reads, written by Pillow (the
version of tools/deepseek_ocr/requirements.txt), plus truncated copies and
headers that declare sizes beyond the limits. Each seed stays under 4 KB.
The seeds are committed; run this again only to regenerate them:
/work/venvs/ocr/bin/python tests/fuzz/make_image_corpus.py (any Python with
Pillow and WebP support). The PDF and GGUF seeds need no Pillow and are made
by make_corpus.py. Crash reproducers are added by hand as regress-*.
"""
import io
import pathlib
import struct
import zlib

from PIL import Image

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus" / "image_decode"


def picture(mode, width, height):
    """A deterministic gradient with some texture, in `mode`."""
    image = Image.new("RGBA", (width, height))
    image.putdata([((x * 37 + y * 11) % 256, (x * 5 + y * 53) % 256, (x * y * 7 + 90) % 256, (x * 29 + 200) % 256)
                   for y in range(height) for x in range(width)])
    return image.convert(mode) if mode != "RGBA" else image


def encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_with_size(png, width, height):
    """The PNG with its IHDR size replaced (CRC recomputed)."""
    ihdr = struct.pack(">II", width, height) + png[24:29]
    return png[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + png[33:]


def main():
    CORPUS.mkdir(parents=True, exist_ok=True)
    seeds = {
        "rgb.png": encoded(picture("RGB", 7, 5), "PNG"),
        "rgba.png": encoded(picture("RGBA", 4, 4), "PNG"),
        "grey16.png": encoded(picture("L", 3, 3).convert("I;16"), "PNG"),
        "palette.png": encoded(picture("RGB", 8, 2).convert("P", palette=Image.Palette.ADAPTIVE, colors=4), "PNG"),
        "bilevel.png": encoded(picture("1", 9, 3), "PNG"),
        "baseline.jpg": encoded(picture("RGB", 16, 8), "JPEG", quality=80),
        "progressive.jpg": encoded(picture("RGB", 17, 9), "JPEG", quality=60, progressive=True),
        "grey.jpg": encoded(picture("L", 8, 8), "JPEG"),
        "subsampled-420.jpg": encoded(picture("RGB", 18, 14), "JPEG", subsampling=2),
        "lossy.webp": encoded(picture("RGB", 12, 10), "WEBP", quality=50),
        "lossless.webp": encoded(picture("RGB", 6, 6), "WEBP", lossless=True),
        "alpha.webp": encoded(picture("RGBA", 5, 7), "WEBP", quality=70),
        "still.gif": encoded(picture("RGB", 5, 5).convert("P", palette=Image.Palette.ADAPTIVE, colors=8), "GIF"),
        "rgb24.bmp": encoded(picture("RGB", 6, 4), "BMP"),
        "palette.bmp": encoded(picture("RGB", 5, 3).convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "BMP"),
        "rgb.ppm": encoded(picture("RGB", 4, 3), "PPM"),
        "grey.pgm": encoded(picture("L", 3, 5), "PPM"),
    }
    frames = [picture("RGB", 6, 4), picture("RGB", 6, 4).transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    seeds["animated.gif"] = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    for name in ["rgb.png", "baseline.jpg", "progressive.jpg", "lossy.webp", "lossless.webp", "still.gif", "rgb24.bmp"]:
        stem, ext = name.rsplit(".", 1)
        seeds[f"truncated-{stem}.{ext}"] = seeds[name][: len(seeds[name]) * 2 // 3]
    seeds["huge-declared.png"] = png_with_size(seeds["rgb.png"], 100000, 100000)
    seeds["wide-declared.png"] = png_with_size(seeds["rgb.png"], 4000, 1)
    for name, data in seeds.items():
        assert len(data) < 4096, (name, len(data))
        (CORPUS / name).write_bytes(data)


if __name__ == "__main__":
    main()
