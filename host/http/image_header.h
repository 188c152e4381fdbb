// What an uploaded file is, read from its first bytes only: a PDF, or an
// image with its format and declared width and height (stb's
// stbi_info_from_memory for PNG, JPEG, GIF, BMP, PSD, PIC, PNM, HDR and TGA;
// the RIFF header for WebP, which stb does not read). Nothing is decoded, so
// the declared dimensions can be checked before a decoder allocates them.
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
