// Normalizer: the "normalizer" of a tokenizer.json, applied to each piece of
// the input between added tokens before pre-tokenization: NFC, NFKC, Prepend
// (SentencePiece's "▁" prefix of Llama-2 style files), Replace (a string or
// PCRE2 regex), Strip (Unicode whitespace, left and/or right), Precompiled
// (SentencePiece charsmaps of T5/UMT5, precompiled_charsmap.h) and Sequence
// of these. Other types are rejected with an error naming the file.
// Immutable; used by the Tokenizer; thread-safe.
#pragma once

#include <boost/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime {

class Normalizer {
 public:
  // `spec` may be null (no normalization); errors name `source`.
  Normalizer(const boost::json::value& spec, const std::string& source);
  ~Normalizer();

  std::string normalize(std::string_view text) const;

 private:
  struct Step;
  void add_step(const boost::json::value& spec, const std::string& source);

  std::vector<std::unique_ptr<Step>> steps_;
};

}  // namespace citadel::runtime
