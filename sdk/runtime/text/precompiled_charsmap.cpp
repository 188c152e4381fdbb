// PrecompiledCharsmap: blob parsing, double-array lookup, per-grapheme rules.
#include "runtime/text/precompiled_charsmap.h"

#include "runtime/core/error.h"
#include "runtime/text/regex.h"
#include "runtime/text/utf8.h"

#include <cstring>

namespace citadel::runtime {
namespace {

// Darts-clone unit fields.
bool has_leaf(uint32_t unit) { return ((unit >> 8) & 1) != 0; }
uint32_t value(uint32_t unit) { return unit & ((1u << 31) - 1); }
uint32_t label(uint32_t unit) { return unit & ((1u << 31) | 0xff); }
uint32_t offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

}  // namespace

std::string decode_base64(std::string_view text, const std::string& where) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else throw_invalid(where + ": invalid base64 character");
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

PrecompiledCharsmap::PrecompiledCharsmap(std::string_view base64, const std::string& where)
    : grapheme_(std::make_unique<Pcre2Regex>("\\X", false, where)) {
  const std::string blob = decode_base64(base64, where);
  // [u32 little-endian trie size in bytes][trie units][replacement pool]
  if (blob.size() < 4) throw_invalid(where + ": precompiled_charsmap is too short");
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(blob[i])); };
  const uint32_t trie_bytes = byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
  if (trie_bytes % 4 != 0 || trie_bytes == 0 || 4 + static_cast<size_t>(trie_bytes) > blob.size()) {
    throw_invalid(where + ": precompiled_charsmap has a bad trie size " + std::to_string(trie_bytes));
  }
  trie_.resize(trie_bytes / 4);
  for (size_t i = 0; i < trie_.size(); ++i) {
    const size_t at = 4 + i * 4;
    trie_[i] = byte(at) | byte(at + 1) << 8 | byte(at + 2) << 16 | byte(at + 3) << 24;
  }
  pool_ = blob.substr(4 + trie_bytes);
}

PrecompiledCharsmap::~PrecompiledCharsmap() = default;

bool PrecompiledCharsmap::transform(std::string_view chunk, std::string_view& replacement) const {
  size_t node = 0;
  node ^= offset(trie_[0]);
  for (char ch : chunk) {
    const auto c = static_cast<uint8_t>(ch);
    if (c == 0) return false;
    node ^= c;
    if (node >= trie_.size()) return false;
    const uint32_t unit = trie_[node];
    if (label(unit) != c) return false;
    node ^= offset(unit);
    if (node >= trie_.size()) return false;
    if (has_leaf(unit)) {
      const size_t start = value(trie_[node]);
      if (start >= pool_.size()) return false;
      const size_t end = pool_.find('\0', start);
      replacement = std::string_view(pool_).substr(start, (end == std::string::npos ? pool_.size() : end) - start);
      return true;
    }
  }
  return false;
}

std::string PrecompiledCharsmap::normalize(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  std::string_view replacement;
  size_t last = 0;
  auto per_character = [&](std::string_view cluster) {
    for (std::string_view character : utf8::characters(cluster)) {
      if (transform(character, replacement)) out.append(replacement);
      else out.append(character);
    }
  };
  for (const auto& [begin, end] : grapheme_->find_all(text)) {
    if (begin > last) per_character(text.substr(last, begin - last));  // bytes \X did not cover
    const std::string_view cluster = text.substr(begin, end - begin);
    if (cluster.size() < 6 && transform(cluster, replacement)) {
      out.append(replacement);
    } else {
      per_character(cluster);
    }
    last = end;
  }
  if (last < text.size()) per_character(text.substr(last));
  return out;
}

}  // namespace citadel::runtime
