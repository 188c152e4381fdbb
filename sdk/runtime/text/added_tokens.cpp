// AddedTokens: leftmost-longest matching of added tokens.
#include "runtime/text/added_tokens.h"

#include "runtime/text/regex.h"
#include "runtime/text/utf8.h"

namespace citadel::runtime {
namespace {

// The character that ends at byte `end` / starts at byte `begin`.
std::string_view character_before(std::string_view text, size_t end) {
  size_t begin = end - 1;
  while (begin > 0 && end - begin < 4 && (static_cast<uint8_t>(text[begin]) & 0xc0) == 0x80) --begin;
  return text.substr(begin, end - begin);
}

std::string_view character_at(std::string_view text, size_t begin) {
  const size_t n = utf8::valid_sequence_length(text.substr(begin));
  return text.substr(begin, n == 0 ? 1 : n);
}

}  // namespace

AddedTokens::AddedTokens()
    : word_character_(std::make_unique<Pcre2Regex>(
          R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])", false, "added tokens")),
      white_space_(std::make_unique<Pcre2Regex>(R"(\p{White_Space})", false, "added tokens")) {}

AddedTokens::~AddedTokens() = default;

void AddedTokens::add(AddedToken token) {
  if (token.match_text().empty()) return;
  by_first_byte_[static_cast<uint8_t>(token.match_text()[0])].push_back(tokens_.size());
  tokens_.push_back(std::move(token));
}

std::vector<TextSegment> AddedTokens::split(std::string_view text, bool normalized) const {
  std::vector<TextSegment> out;
  size_t plain_begin = 0;  // start of the not-yet-emitted plain text
  size_t i = 0;
  while (i < text.size()) {
    const AddedToken* best = nullptr;
    for (size_t index : by_first_byte_[static_cast<uint8_t>(text[i])]) {
      const AddedToken& token = tokens_[index];
      if (token.normalized != normalized) continue;
      const std::string& match = token.match_text();
      if (best != nullptr && match.size() <= best->match_text().size()) continue;
      if (text.compare(i, match.size(), match) != 0) continue;
      best = &token;
    }
    if (best == nullptr) {
      const size_t n = utf8::valid_sequence_length(text.substr(i));
      i += n == 0 ? 1 : n;
      continue;
    }
    size_t match_begin = i, match_end = i + best->match_text().size();
    if (best->single_word &&
        ((match_begin > 0 && word_character_->full_match(character_before(text, match_begin))) ||
         (match_end < text.size() && word_character_->full_match(character_at(text, match_end))))) {
      i = match_end;  // a skipped match is not searched again inside
      continue;
    }
    if (best->lstrip) {
      while (match_begin > plain_begin && white_space_->full_match(character_before(text, match_begin))) {
        match_begin -= character_before(text, match_begin).size();
      }
    }
    if (best->rstrip) {
      while (match_end < text.size() && white_space_->full_match(character_at(text, match_end))) {
        match_end += character_at(text, match_end).size();
      }
    }
    if (match_begin > plain_begin) out.push_back({text.substr(plain_begin, match_begin - plain_begin), -1});
    out.push_back({text.substr(match_begin, match_end - match_begin), best->id});
    plain_begin = i = match_end;
  }
  if (plain_begin < text.size()) out.push_back({text.substr(plain_begin), -1});
  return out;
}

}  // namespace citadel::runtime
