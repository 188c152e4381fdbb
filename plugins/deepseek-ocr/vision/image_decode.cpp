// decode_image: PNG/JPEG/BMP/GIF/PNM through stb_image (Debian libstb-dev,
// compiled here with static linkage) and WebP through libwebp; the size
// limits are checked from the header before any pixel is decoded.
#include "deep_encoder.h"
#include "stb_input_guards.h"

#include <cstdlib>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
// Zeroed allocations: a JPEG scan stb reaches with a Huffman table never
// defined decodes with zero tables (symbol 0), not with heap garbage that
// indexes outside them (stb_input_guards.h).
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(pointer, size) std::realloc(pointer, size)
#define STBI_FREE(pointer) std::free(pointer)
#define STBI_NO_HDR
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_TGA  // no magic number: random bytes could pass its test
#define STBI_NO_STDIO
#include <stb/stb_image.h>
#include <webp/decode.h>

#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace citadel::deepseek_ocr {
namespace {

const char* const kFormats = "PNG, JPEG, WebP, BMP, GIF, PNM";

bool is_webp(std::span<const uint8_t> bytes) {
  return bytes.size() >= 12 && std::memcmp(bytes.data(), "RIFF", 4) == 0 &&
         std::memcmp(bytes.data() + 8, "WEBP", 4) == 0;
}

// Width and height from a PNG's IHDR (signature, then the IHDR chunk's
// big-endian width and height at bytes 16..23); false when not a PNG. Read
// here because stb_image refuses to report a size it would not decode.
bool png_header_size(std::span<const uint8_t> bytes, int64_t* width, int64_t* height) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 24 || std::memcmp(bytes.data(), kSignature, 8) != 0 ||
      std::memcmp(bytes.data() + 12, "IHDR", 4) != 0) {
    return false;
  }
  auto be32 = [&](size_t at) {
    return (int64_t{bytes[at]} << 24) | (int64_t{bytes[at + 1]} << 16) | (int64_t{bytes[at + 2]} << 8) | bytes[at + 3];
  };
  *width = be32(16);
  *height = be32(20);
  return true;
}

void check_dimensions(int64_t width, int64_t height, const ImageLimits& limits) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (width <= 0 || height <= 0) throw ImageInputError("image has an empty size (" + size + ")");
  if (width > limits.max_side || height > limits.max_side) {
    throw ImageInputError("image is " + size + " pixels: a side exceeds the limit of " +
                          std::to_string(limits.max_side) + " pixels");
  }
  if (width * height > limits.max_pixels) {
    throw ImageInputError("image is " + size + " pixels (" + std::to_string(width * height) +
                          "): more than the limit of " + std::to_string(limits.max_pixels) + " pixels");
  }
}

DecodedImage decode_webp(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  int width = 0, height = 0;
  if (WebPGetInfo(bytes.data(), bytes.size(), &width, &height) == 0) {
    throw ImageInputError("image data is corrupt or truncated (WebP header unreadable)");
  }
  check_dimensions(width, height, limits);
  DecodedImage out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  // WebPDecodeRGBInto: alpha (if any) dropped, as convert("RGB") drops it.
  if (WebPDecodeRGBInto(bytes.data(), bytes.size(), out.rgb.data(), out.rgb.size(), width * 3) == nullptr) {
    throw ImageInputError("image data is corrupt or truncated (WebP decoding failed)");
  }
  return out;
}

}  // namespace

DecodedImage decode_image(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  if (bytes.empty()) throw ImageInputError("image data is empty");
  if (static_cast<int64_t>(bytes.size()) > limits.max_encoded_bytes || bytes.size() > INT_MAX) {
    throw ImageInputError("image data is " + std::to_string(bytes.size()) + " bytes: more than the limit of " +
                          std::to_string(limits.max_encoded_bytes) + " bytes");
  }
  if (is_webp(bytes)) return decode_webp(bytes, limits);
  const int length = static_cast<int>(bytes.size());
  if (const std::optional<std::string> table = jpeg_huffman_problem(bytes)) {
    throw ImageInputError("image data is a corrupt JPEG: invalid Huffman tables (" + *table + ")");
  }
  if (const std::optional<std::string> field = oversized_pnm_header_number(bytes)) {
    throw ImageInputError("image data is a corrupt PGM/PPM: its " + *field + " has more than 9 digits");
  }
  if (const std::optional<std::string> chunk = png_chunk_problem(bytes)) {
    throw ImageInputError("image data is a corrupt or truncated PNG: " + *chunk);
  }
  int64_t png_width = 0, png_height = 0;
  if (png_header_size(bytes, &png_width, &png_height)) check_dimensions(png_width, png_height, limits);
  int width = 0, height = 0, channels = 0;
  if (stbi_info_from_memory(bytes.data(), length, &width, &height, &channels) == 0) {
    const char* reason = stbi_failure_reason();
    if (reason != nullptr && std::string(reason) == "too large") {
      throw ImageInputError("image is too large: its header declares more pixels than can be decoded");
    }
    throw ImageInputError(std::string("data is not an image of a supported format (") + kFormats +
                          "), or its header is corrupt");
  }
  check_dimensions(width, height, limits);
  // stb 2.27 reads a 16-bit PNM's samples in the wrong byte order, and
  // turning a 16-bit PGM into RGB it reads past its buffer: refused.
  if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6') &&
      stbi_is_16_bit_from_memory(bytes.data(), length) != 0) {
    throw ImageInputError("image is a 16-bit PGM/PPM (maximum value above 255), which is not supported; "
                          "send it with 8-bit samples or as PNG");
  }
  int w = 0, h = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(bytes.data(), length, &w, &h, &channels, 3),
                                                   &stbi_image_free);
  if (pixels == nullptr) {
    const char* reason = stbi_failure_reason();
    throw ImageInputError(std::string("image data is corrupt or truncated (") +
                          (reason != nullptr ? reason : "decoding failed") + ")");
  }
  if (w != width || h != height) throw ImageInputError("image data is corrupt (its size changed while decoding)");
  DecodedImage out;
  out.width = w;
  out.height = h;
  out.rgb.assign(pixels.get(), pixels.get() + static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  return out;
}

}  // namespace citadel::deepseek_ocr
