// Base64 (RFC 4648, standard alphabet, padded) for images sent to /v1/ocr and
// /inference and for frames returned by /v1/videos.
//
// Called by: task_translate.cpp and tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

std::string base64_encode(std::span<const uint8_t> bytes);
// Decodes padded or unpadded base64 (whitespace ignored); nullopt if invalid.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace citadel::http
