// Base64 encoder and decoder.
#include "host/http/base64.h"

#include <array>

namespace citadel::http {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int index = 0; index < 64; ++index)
    table[static_cast<uint8_t>(kAlphabet[index])] = static_cast<int8_t>(index);
  return table;
}

constexpr std::array<int8_t, 256> kDecode = make_decode_table();

}  // namespace

std::string base64_encode(std::span<const uint8_t> bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  size_t index = 0;
  for (; index + 3 <= bytes.size(); index += 3) {
    const uint32_t group = (bytes[index] << 16) | (bytes[index + 1] << 8) | bytes[index + 2];
    text += kAlphabet[(group >> 18) & 63];
    text += kAlphabet[(group >> 12) & 63];
    text += kAlphabet[(group >> 6) & 63];
    text += kAlphabet[group & 63];
  }
  const size_t rest = bytes.size() - index;
  if (rest > 0) {
    uint32_t group = bytes[index] << 16;
    if (rest == 2) group |= bytes[index + 1] << 8;
    text += kAlphabet[(group >> 18) & 63];
    text += kAlphabet[(group >> 12) & 63];
    text += rest == 2 ? kAlphabet[(group >> 6) & 63] : '=';
    text += '=';
  }
  return text;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() / 4 * 3);
  uint32_t group = 0;
  int bits = 0;
  bool padding = false;
  for (const char character : text) {
    if (character == ' ' || character == '\n' || character == '\r' || character == '\t') continue;
    if (character == '=') {
      padding = true;
      continue;
    }
    const int8_t value = kDecode[static_cast<uint8_t>(character)];
    if (value < 0 || padding) return std::nullopt;  // bad character, or data after '='
    group = (group << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>((group >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character
  return bytes;
}

}  // namespace citadel::http
