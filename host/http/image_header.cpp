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

std::string stb_format_name(std::span<const uint8_t> bytes) {
  if (starts_with(bytes, "\x89PNG")) return "png";
  if (starts_with(bytes, "\xff\xd8\xff")) return "jpeg";
  if (starts_with(bytes, "GIF8")) return "gif";
  if (starts_with(bytes, "BM")) return "bmp";
  return "image";
}

}  // namespace

std::optional<ImageHeader> read_image_header(std::span<const uint8_t> bytes) {
  if (std::optional<ImageHeader> webp = read_webp_header(bytes)) return webp;
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
