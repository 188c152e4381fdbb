// PrecompiledCharsmap: the "Precompiled" normalizer of a tokenizer.json (T5,
// UMT5, mT5, XLM-R, ALBERT...): SentencePiece's compiled normalization rules
// (e.g. nmt_nfkc: NFKC plus space and control-character mapping), a
// Darts-clone double-array trie over the source strings and a pool of
// NUL-terminated replacements, stored base64 in "precompiled_charsmap".
// Applied as HF's Precompiled normalizer does: per extended grapheme cluster
// (PCRE2's \X), a cluster shorter than 6 bytes is replaced whole when a rule
// matches a prefix of it (the shortest such rule), otherwise each character
// is looked up alone. Immutable; used by the Normalizer; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime {

class Pcre2Regex;

class PrecompiledCharsmap {
 public:
  // `base64` is the "precompiled_charsmap" string; errors name `where`.
  PrecompiledCharsmap(std::string_view base64, const std::string& where);
  ~PrecompiledCharsmap();

  std::string normalize(std::string_view text) const;

 private:
  // The replacement for the shortest rule that is a prefix of `chunk`;
  // false when none is.
  bool transform(std::string_view chunk, std::string_view& replacement) const;

  std::vector<uint32_t> trie_;
  std::string pool_;  // replacements, each ending with '\0'
  std::unique_ptr<Pcre2Regex> grapheme_;
};

// Decodes standard base64 (with or without '=' padding); throws naming `where`.
std::string decode_base64(std::string_view text, const std::string& where);

}  // namespace citadel::runtime
