// Image headers: stb for the formats it knows, a RIFF reader for WebP.
#include "host/http/image_header.h"

#include <stb_image.h>

#include <algorithm>
#include <climits>
#include <string_view>

namespace citadel::http {

namespace {

bool starts_with(std::span<const uint8_t> bytes, std::string_view prefix, size_t offset = 0) {
  if (bytes.size() < offset + prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                    [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

uint32_t little_endian(std::span<const uint8_t> bytes, size_t offset, size_t count) {
  uint32_t value = 0;
  for (size_t i = 0; i < count; ++i) value |= static_cast<uint32_t>(bytes[offset + i]) << (8 * i);
  return value;
}

// RIFF "WEBP" with a VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk
// first, as the WebP container specification lays them out.
std::optional<ImageHeader> read_webp_header(std::span<const uint8_t> bytes) {
  if (!starts_with(bytes, "RIFF") || !starts_with(bytes, "WEBP", 8) || bytes.size() < 30) return std::nullopt;
  ImageHeader header{"webp", 0, 0};
  if (starts_with(bytes, "VP8 ", 12)) {
    if (bytes[23] != 0x9d || bytes[24] != 0x01 || bytes[25] != 0x2a) return std::nullopt;
    header.width = little_endian(bytes, 26, 2) & 0x3fff;
    header.height = little_endian(bytes, 28, 2) & 0x3fff;
  } else if (starts_with(bytes, "VP8L", 12)) {
    if (bytes[20] != 0x2f) return std::nullopt;
    const uint32_t bits = little_endian(bytes, 21, 4);
    header.width = (bits & 0x3fff) + 1;
    header.height = ((bits >> 14) & 0x3fff) + 1;
  } else if (starts_with(bytes, "VP8X", 12)) {
    header.width = little_endian(bytes, 24, 3) + 1;
    header.height = little_endian(bytes, 27, 3) + 1;
  } else {
    return std::nullopt;
  }
  if (header.width == 0 || header.height == 0) return std::nullopt;
  return header;
}

uint32_t big_endian(std::span<const uint8_t> bytes, size_t offset, size_t count) {
  uint32_t value = 0;
  for (size_t i = 0; i < count; ++i) value = (value << 8) | bytes[offset + i];
  return value;
}

// PNG: the signature, then the IHDR chunk with width and height (stb's
// reader refuses sizes beyond 2^30 bytes before saying what they are).
std::optional<ImageHeader> read_png_header(std::span<const uint8_t> bytes) {
  if (!starts_with(bytes, "\x89PNG\r\n\x1a\n") || !starts_with(bytes, "IHDR", 12) || bytes.size() < 24)
    return std::nullopt;
  return ImageHeader{"png", big_endian(bytes, 16, 4), big_endian(bytes, 20, 4)};
}

// JPEG: the markers after SOI (after any fill bytes, as stb reads it) up to
// the first start-of-frame (SOF0-SOF15
// but DHT, JPG and DAC), whose segment holds height and width. Bytes
// between segments that are no marker are skipped, as decoders do (stb
// and libjpeg resynchronise on the next 0xFF), so the size read here is
// the one the decoder finds.
// The first byte after a JPEG's SOI, which stb finds after any number of
// fill bytes 0xFF; 0 when the bytes are no JPEG.
size_t jpeg_after_soi(std::span<const uint8_t> bytes) {
  size_t at = 0;
  while (at < bytes.size() && bytes[at] == 0xff) ++at;
  return at > 0 && at < bytes.size() && bytes[at] == 0xd8 ? at + 1 : 0;
}

std::optional<ImageHeader> read_jpeg_header(std::span<const uint8_t> bytes) {
  size_t at = jpeg_after_soi(bytes);
  if (at == 0) return std::nullopt;
  while (at + 4 <= bytes.size()) {
    if (bytes[at] != 0xff) {  // extraneous byte
      ++at;
      continue;
    }
    const uint8_t marker = bytes[at + 1];
    if (marker == 0xff) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {  // no length
      at += 2;
      continue;
    }
    const uint32_t length = big_endian(bytes, at + 2, 2);
    if (length < 2) return std::nullopt;
    const bool frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame) {
      if (at + 9 > bytes.size()) return std::nullopt;
      return ImageHeader{"jpeg", big_endian(bytes, at + 7, 2), big_endian(bytes, at + 5, 2)};
    }
    at += 2 + length;
  }
  return std::nullopt;
}

// GIF: the logical screen size after the signature.
std::optional<ImageHeader> read_gif_header(std::span<const uint8_t> bytes) {
  if ((!starts_with(bytes, "GIF87a") && !starts_with(bytes, "GIF89a")) || bytes.size() < 10) return std::nullopt;
  return ImageHeader{"gif", little_endian(bytes, 6, 2), little_endian(bytes, 8, 2)};
}

std::string stb_format_name(std::span<const uint8_t> bytes) {
  if (starts_with(bytes, "BM")) return "bmp";
  return "image";
}

}  // namespace

std::optional<ImageHeader> read_image_header(std::span<const uint8_t> bytes) {
  for (auto reader : {read_png_header, read_jpeg_header, read_gif_header, read_webp_header}) {
    std::optional<ImageHeader> header = reader(bytes);
    if (!header) continue;
    if (header->width == 0 || header->height == 0) return std::nullopt;
    return header;
  }
  // A JPEG without a readable frame header is refused here: stb's reader
  // would process its Huffman tables, which stb 2.27 trusts (a table of more
  // than 256 codes writes past its arrays, nothings/stb#1289).
  if (jpeg_after_soi(bytes) != 0) return std::nullopt;
  if (bytes.empty() || bytes.size() > static_cast<size_t>(INT_MAX)) return std::nullopt;
  int width = 0;
  int height = 0;
  int components = 0;
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &components) == 0)
    return std::nullopt;
  if (width <= 0 || height <= 0) return std::nullopt;
  return ImageHeader{stb_format_name(bytes), static_cast<uint32_t>(width), static_cast<uint32_t>(height)};
}

bool looks_like_pdf(std::span<const uint8_t> bytes) {
  const size_t window = std::min<size_t>(bytes.size(), 1024);
  const std::string_view head(reinterpret_cast<const char*>(bytes.data()), window);
  return head.find("%PDF-") != std::string_view::npos;
}

}  // namespace citadel::http
