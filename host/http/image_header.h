// What an uploaded file is, read from its first bytes only: a PDF, or an
// image with its format and declared width and height. PNG (IHDR), JPEG (the
// first start-of-frame), GIF (the logical screen) and WebP (the RIFF chunk
// header, which stb does not read) are read here, because stb's reader
// refuses sizes beyond 2^30 bytes without saying what they are; the other
// formats stb knows (BMP, PSD, PIC, PNM, HDR, TGA) through its
// stbi_info_from_memory. Nothing is decoded, so the declared dimensions can
// be checked before a decoder allocates them.
//
// Called by ocr_pages.cpp and the [http] unit tests. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace citadel::http {

struct ImageHeader {
  std::string format;  // "png", "jpeg", "gif", "bmp", "webp", or "image" (another stb format)
  uint32_t width = 0;
  uint32_t height = 0;
};

// The header of an image, or std::nullopt when the bytes are no image format
// known here (or its header is cut short or declares a zero size).
std::optional<ImageHeader> read_image_header(std::span<const uint8_t> bytes);

// Whether the bytes start with a PDF header ("%PDF-" within the first 1024
// bytes, as readers accept).
bool looks_like_pdf(std::span<const uint8_t> bytes);

}  // namespace citadel::http
