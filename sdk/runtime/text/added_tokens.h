// AddedTokens: the "added_tokens" of a tokenizer.json, found in the text
// before pre-tokenization as HF's AddedVocabulary does: leftmost-longest,
// non-overlapping matches; single_word (a match next to a
// Unicode word character is skipped), lstrip and rstrip (absorb Unicode
// whitespace). Internal to the Tokenizer.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = true;
  // What is searched for: the content, normalized by the tokenizer's
  // normalizer for normalized tokens (HF matches "▁<tool>" for a "<tool>"
  // under a Prepend("▁") normalizer). Empty: the content.
  std::string pattern;
  const std::string& match_text() const { return pattern.empty() ? content : pattern; }
};

// A piece of the input: plain text (token_id < 0) or one added token.
struct TextSegment {
  std::string_view text;
  int32_t token_id = -1;
};

class Pcre2Regex;

class AddedTokens {
 public:
  AddedTokens();
  ~AddedTokens();

  void add(AddedToken token);
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  // One pass over `text` with the tokens whose `normalized` flag equals
  // `normalized` (HF runs the normalized=false pass on the raw text, then the
  // normalized=true pass on each normalized plain piece of it).
  std::vector<TextSegment> split(std::string_view text, bool normalized) const;

 private:

  std::vector<AddedToken> tokens_;
  std::array<std::vector<size_t>, 256> by_first_byte_;  // indices into tokens_
  std::unique_ptr<Pcre2Regex> word_character_;  // Rust regex's \w
  std::unique_ptr<Pcre2Regex> white_space_;     // Rust regex's \s
};

}  // namespace citadel::runtime
