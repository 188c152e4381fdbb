// Pcre2Regex over the 8-bit PCRE2 library.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/text/regex.h"

#include "runtime/core/error.h"
#include "runtime/text/utf8.h"

#include <pcre2.h>

namespace citadel::runtime {

namespace {

// \s and \S as Oniguruma and Rust's regex read them (the Unicode White_Space
// property); PCRE2's own \s also matches U+180E, which HF's tokenizers do not.
std::string with_unicode_white_space(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += pattern[i];
        out += next;
      }
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

}  // namespace

struct Pcre2Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

Pcre2Regex::Pcre2Regex(const std::string& pattern, bool literal, const std::string& source)
    : code_(std::make_unique<Code>()), pattern_(pattern), literal_(literal && !pattern.empty()) {
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  options |= literal ? PCRE2_LITERAL : PCRE2_UCP;  // PCRE2 refuses UCP with LITERAL
  const std::string compiled = literal ? pattern : with_unicode_white_space(pattern);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                              options, &error_code, &error_offset, nullptr);
  if (code_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    throw_unsupported(source + ": pre-tokenizer regex \"" + pattern + "\" does not compile at offset " +
                      std::to_string(error_offset) + ": " + reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
}

Pcre2Regex::~Pcre2Regex() = default;

std::vector<std::pair<size_t, size_t>> Pcre2Regex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  if (literal_) {  // plain text: no need for the matcher
    for (size_t at = text.find(pattern_); at != std::string_view::npos; at = text.find(pattern_, at + pattern_.size())) {
      matches.emplace_back(at, at + pattern_.size());
    }
    return matches;
  }
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code_->code, nullptr);
  if (data == nullptr) throw RuntimeError(CITADEL_ERR_OUT_OF_MEMORY, "pcre2 match data allocation failed");
  size_t offset = 0;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  while (offset <= text.size()) {
    const int rc = pcre2_match(code_->code, subject, text.size(), offset, 0, data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(data);
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw RuntimeError(CITADEL_ERR_INTERNAL, "regex \"" + pattern_ + "\" failed to match: " +
                                                   reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* vector = pcre2_get_ovector_pointer(data);
    const size_t begin = vector[0], end = vector[1];
    if (end > begin) {
      matches.emplace_back(begin, end);
      offset = end;
    } else {
      // Empty match: step over one character.
      if (begin >= text.size()) break;
      size_t n = utf8::valid_sequence_length(text.substr(begin));
      offset = begin + (n == 0 ? 1 : n);
    }
  }
  pcre2_match_data_free(data);
  return matches;
}

bool Pcre2Regex::full_match(std::string_view text) const {
  if (literal_) return text == pattern_;
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code_->code, nullptr);
  if (data == nullptr) throw RuntimeError(CITADEL_ERR_OUT_OF_MEMORY, "pcre2 match data allocation failed");
  // No JIT here: the JIT fast path ignores match-time anchoring options.
  const int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                             PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NO_JIT, data, nullptr);
  pcre2_match_data_free(data);
  return rc >= 0;
}

}  // namespace citadel::runtime
