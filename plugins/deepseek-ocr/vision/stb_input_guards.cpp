// JPEG DHT segments and PNG chunks read as stb_image reads them.
#include "stb_input_guards.h"

#include <cstring>

namespace citadel::deepseek_ocr {

namespace {

// A chunk type for a message: its four bytes, anything unprintable as '?'.
std::string printable(std::string type) {
  for (char& c : type)
    if (c < 0x20 || c > 0x7e) c = '?';
  return type;
}

}  // namespace

std::optional<std::string> oversized_jpeg_huffman_table(std::span<const uint8_t> bytes) {
  // stb's test for a JPEG: 0xFF, any number of fill bytes 0xFF, then SOI.
  size_t soi = 0;
  while (soi < bytes.size() && bytes[soi] == 0xff) ++soi;
  if (soi == 0 || soi >= bytes.size() || bytes[soi] != 0xd8) return std::nullopt;
  // stb's reads past the end give 0.
  auto byte_at = [&](size_t at) -> uint32_t { return at < bytes.size() ? bytes[at] : 0; };
  for (size_t marker = 0; marker + 1 < bytes.size(); ++marker) {
    if (bytes[marker] != 0xff || bytes[marker + 1] != 0xc4) continue;
    size_t at = marker + 2;
    int64_t left = static_cast<int64_t>((byte_at(at) << 8) | byte_at(at + 1)) - 2;
    at += 2;
    while (left > 0) {
      const uint32_t table = byte_at(at++);
      if ((table >> 4) > 1 || (table & 15) > 3) break;  // stb refuses the segment
      uint32_t codes = 0;
      for (int length = 0; length < 16; ++length) codes += byte_at(at++);
      if (codes > 256) {
        return "DHT table at byte " + std::to_string(marker) + " (" + ((table >> 4) == 0 ? "DC" : "AC") +
               " table " + std::to_string(table & 15) + ") declares " + std::to_string(codes) +
               " codes; at most 256";
      }
      at += codes;
      left -= 17 + static_cast<int64_t>(codes);
    }
  }
  return std::nullopt;
}

std::optional<std::string> oversized_pnm_header_number(std::span<const uint8_t> bytes) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return std::nullopt;
  auto at_byte = [&](size_t at) -> int { return at < bytes.size() ? bytes[at] : -1; };
  auto space = [](int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  size_t at = 2;
  for (const char* field : {"width", "height", "maximum value"}) {
    for (;;) {  // whitespace, then a comment to the end of its line, again
      while (space(at_byte(at))) ++at;
      if (at_byte(at) != '#') break;
      while (at_byte(at) >= 0 && at_byte(at) != '\n' && at_byte(at) != '\r') ++at;
    }
    size_t digits = 0;
    for (; at_byte(at) >= '0' && at_byte(at) <= '9'; ++at) ++digits;
    if (digits > 9) return std::string(field);
  }
  return std::nullopt;
}

std::optional<std::string> png_chunk_problem(std::span<const uint8_t> bytes) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) return std::nullopt;
  bool seen_idat = false;
  size_t at = 8;
  while (at + 8 <= bytes.size()) {
    const uint64_t length = (uint64_t{bytes[at]} << 24) | (uint64_t{bytes[at + 1]} << 16) |
                            (uint64_t{bytes[at + 2]} << 8) | bytes[at + 3];
    const std::string type(reinterpret_cast<const char*>(bytes.data() + at + 4), 4);
    if (type == "IEND") break;
    if (at + 12 + length > bytes.size()) {
      return "chunk '" + printable(type) + "' at byte " + std::to_string(at) + " declares " +
             std::to_string(length) + " bytes, past the end of the data";
    }
    if (type == "IDAT" && !seen_idat && length == 0) return "its first IDAT chunk is empty";
    seen_idat = seen_idat || type == "IDAT";
    at += 12 + length;  // length, type, data, CRC
  }
  return std::nullopt;
}

}  // namespace citadel::deepseek_ocr
