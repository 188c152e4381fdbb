// A compiled PCRE2 pattern (UTF + UCP, invalid UTF-8 in subjects tolerated,
// JIT when available) that lists the non-empty matches in a text or tests a
// whole string. \s and \S mean the Unicode White_Space property, as in the
// Oniguruma/Rust engines of HF tokenizers. Immutable after construction and
// safe to share between threads. Internal to the tokenizer (pre-tokenizers, added tokens); errors
// name the pattern and `source`.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace citadel::runtime {

class Pcre2Regex {
 public:
  // literal: match `pattern` as plain text instead of a regex.
  Pcre2Regex(const std::string& pattern, bool literal, const std::string& source);
  ~Pcre2Regex();
  Pcre2Regex(const Pcre2Regex&) = delete;
  Pcre2Regex& operator=(const Pcre2Regex&) = delete;

  // [begin, end) byte ranges of the successive non-empty matches.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  // Whether the whole of `text` matches.
  bool full_match(std::string_view text) const;

 private:
  struct Code;
  std::unique_ptr<Code> code_;
  std::string pattern_;
  bool literal_;  // a non-empty plain-text pattern, searched without PCRE2
};

}  // namespace citadel::runtime
