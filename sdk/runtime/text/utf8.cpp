// UTF-8 helpers and the GPT-2 byte-level map.
#include "runtime/text/utf8.h"

#include <array>
#include <unordered_map>

namespace citadel::runtime::utf8 {

void append_code_point(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

namespace {

// How many leading bytes of `bytes` form a valid prefix of a sequence
// (Unicode's "maximal subpart"), and the full length the lead byte promises.
void inspect(std::string_view bytes, size_t& valid_prefix, size_t& needed) {
  const auto b0 = static_cast<uint8_t>(bytes[0]);
  valid_prefix = 0;
  needed = 0;
  uint8_t lo = 0x80, hi = 0xbf;
  if (b0 < 0x80) {
    valid_prefix = needed = 1;
    return;
  } else if (b0 >= 0xc2 && b0 <= 0xdf) {
    needed = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    needed = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    needed = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return;  // invalid lead byte
  }
  valid_prefix = 1;
  for (size_t i = 1; i < needed && i < bytes.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    const uint8_t low = i == 1 ? lo : 0x80, high = i == 1 ? hi : 0xbf;
    if (b < low || b > high) return;
    ++valid_prefix;
  }
}

}  // namespace

size_t valid_sequence_length(std::string_view bytes) {
  if (bytes.empty()) return 0;
  size_t valid_prefix, needed;
  inspect(bytes, valid_prefix, needed);
  return (needed > 0 && valid_prefix == needed) ? needed : 0;
}

std::string repair(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t valid_prefix, needed;
    inspect(bytes.substr(i), valid_prefix, needed);
    if (needed > 0 && valid_prefix == needed) {
      out.append(bytes.substr(i, needed));
      i += needed;
    } else {
      out += "\xef\xbf\xbd";
      i += valid_prefix > 0 ? valid_prefix : 1;
    }
  }
  return out;
}

std::vector<std::string_view> characters(std::string_view text) {
  std::vector<std::string_view> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t n = valid_sequence_length(text.substr(i));
    if (n == 0) n = 1;
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

namespace {

struct ByteLevelTables {
  std::array<std::string, 256> byte_to_char;
  std::unordered_map<uint32_t, uint8_t> code_point_to_byte;

  ByteLevelTables() {
    uint32_t next_extra = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      const uint32_t cp = printable ? b : next_extra++;
      append_code_point(byte_to_char[b], cp);
      code_point_to_byte[cp] = static_cast<uint8_t>(b);
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables instance;
  return instance;
}

uint32_t decode_code_point(std::string_view c) {
  const auto b0 = static_cast<uint8_t>(c[0]);
  if (c.size() == 1) return b0;
  uint32_t cp = c.size() == 2 ? (b0 & 0x1f) : c.size() == 3 ? (b0 & 0x0f) : (b0 & 0x07);
  for (size_t i = 1; i < c.size(); ++i) cp = (cp << 6) | (static_cast<uint8_t>(c[i]) & 0x3f);
  return cp;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) { return tables().byte_to_char[byte]; }

bool unicode_to_bytes(std::string_view token, std::string& out) {
  const auto& map = tables().code_point_to_byte;
  std::string bytes;
  for (std::string_view c : characters(token)) {
    if (valid_sequence_length(c) == 0) return false;
    auto it = map.find(decode_code_point(c));
    if (it == map.end()) return false;
    bytes.push_back(static_cast<char>(it->second));
  }
  out += bytes;
  return true;
}

std::string bytes_to_unicode_string(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) out += byte_to_unicode(static_cast<uint8_t>(b));
  return out;
}

}  // namespace citadel::runtime::utf8
