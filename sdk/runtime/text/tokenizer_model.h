// TokenizerModel: the "model" part of a tokenizer (BPE or Unigram) as the
// Tokenizer uses it: a vocabulary (id <-> token string) and the encoding of
// one pre-tokenized word into ids. Implemented by BpeModel (bpe_model.h) and
// UnigramModel (unigram_model.h); make_tokenizer_model picks one from the
// tokenizer.json "model" object. Immutable once the Tokenizer is built, so
// shared by threads. Internal to sdk/runtime/text.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime {

class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;

  // Appends the ids of `word` to `out`.
  virtual void encode_word(std::string_view word, std::vector<int32_t>& out) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // Empty for ids not in the vocabulary.
  virtual const std::string& id_to_token(int32_t id) const = 0;
  // Highest id + 1.
  virtual size_t id_limit() const = 0;
  // Registers a token added outside the vocabulary (added_tokens); it is
  // known to lookups but never produced by encode_word.
  virtual void add_token(int32_t id, const std::string& content) = 0;
};

// BpeModel or UnigramModel from `spec` (the tokenizer.json "model" object);
// errors name `source`.
std::unique_ptr<TokenizerModel> make_tokenizer_model(const boost::json::value& spec, const std::string& source);

// Whether `token` is a byte-fallback token "<0xAB>"; sets `byte`.
bool parse_byte_token(std::string_view token, uint8_t& byte);
// "<0xAB>" for byte 0xAB (upper-case hex, as HF and SentencePiece spell it).
std::string byte_token_name(uint8_t byte);

}  // namespace citadel::runtime
