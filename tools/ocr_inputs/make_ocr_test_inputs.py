#!/usr/bin/env python3
"""Writes the small images and PDFs the /v1/ocr tests upload (tests/data/ocr/).

PNG, BMP and the PDFs are written byte by byte with the standard library
(zlib for PNG data, the PDF objects and xref table by hand); the JPEG and
WebP files with Pillow (tools/ocr_inputs/requirements.txt), because their
encoders are not worth writing here. The files are committed; run again only
to change them:  python3 tools/ocr_inputs/make_ocr_test_inputs.py
"""
import pathlib
import struct
import zlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "ocr"


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, rows):
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(raw, 9)) +
            png_chunk(b"IEND", b""))


def gradient_rows(width, height):
    return [bytes(c for x in range(width) for c in (x * 4 % 256, y * 5 % 256, (x + y) % 256))
            for y in range(height)]


def bomb_png(width, height):
    """A valid PNG header declaring a huge image; the data is one tiny stream
    (a decoder would allocate width x height x 3 bytes before noticing)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) +
            png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9)) + png_chunk(b"IEND", b""))


def bmp(width, height):
    row = bytes([200, 100, 50] * width)
    row += b"\x00" * (-len(row) % 4)
    pixels = row * height
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info)) + info + pixels


def pdf(pages):
    """pages: [(width_pt, height_pt, rotate)]; each page fills a rectangle."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None]
    kids = []
    for width, height, rotate in pages:
        content = f"0.2 0.4 0.8 rg 10 10 {width - 20} {height - 20} re f 0 g BT /F1 12 Tf 20 20 Td (Page) Tj ET"
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
        content_number = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Rotate {rotate} "
                       f"/Contents {content_number} 0 R /Resources << /Font << /F1 FONT 0 R >> >> >>")
        kids.append(len(objects))
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    font_number = len(objects)
    objects = [o.replace("FONT", str(font_number)) if o else o for o in objects]
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(data)
    data += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    data += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    data += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return data


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "gradient.png").write_bytes(png(48, 32, gradient_rows(48, 32)))
    (OUT / "bomb.png").write_bytes(bomb_png(100000, 100000))
    (OUT / "tall.bmp").write_bytes(bmp(5, 40))
    # Three pages: portrait, landscape, and a portrait page turned by /Rotate 90.
    (OUT / "three_pages.pdf").write_bytes(pdf([(200, 300, 0), (300, 150, 0), (100, 200, 90)]))
    (OUT / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R\n" + bytes(range(256)) * 4)
    from PIL import Image  # noqa: E402 (only these two formats need it)
    image = Image.frombytes("RGB", (48, 32), b"".join(gradient_rows(48, 32)))
    image.save(OUT / "gradient.jpg", quality=80)
    image.resize((30, 20)).save(OUT / "gradient.webp", lossless=True)
    image.resize((33, 21)).save(OUT / "lossy.webp", quality=50)


if __name__ == "__main__":
    main()
