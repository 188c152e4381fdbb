// UnigramModel: the "model" of a tokenizer.json of type Unigram (T5, UMT5,
// mT5, ALBERT and other SentencePiece unigram vocabularies): pieces with
// log-probability scores, unk_id, byte_fallback. Encodes a word as HF's
// Unigram::encode_optimized does: Viterbi over a trie of all pieces (an
// unknown character costs the lowest score minus 10), consecutive unknown
// characters fused into one unk (or their <0xAB> tokens with byte_fallback).
// Immutable; internal to the Tokenizer.
#pragma once

#include "runtime/text/piece_trie.h"
#include "runtime/text/token_id_map.h"
#include "runtime/text/tokenizer_model.h"

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace citadel::runtime {

class UnigramModel final : public TokenizerModel {
 public:
  // `spec` is the tokenizer.json "model" object; errors name `source`.
  UnigramModel(const boost::json::value& spec, const std::string& source);

  void encode_word(std::string_view word, std::vector<int32_t>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string& id_to_token(int32_t id) const override;
  size_t id_limit() const override { return id_to_token_.size(); }
  void add_token(int32_t id, const std::string& content) override;

 private:
  void build(const std::string& source);
  // Appends the id of one piece of the best path (byte fallback or unk for
  // a piece not in the vocabulary, e.g. fused unknown characters).
  void append_piece(std::string_view piece, std::vector<int32_t>& out) const;

  std::vector<std::pair<std::string, double>> pieces_;  // by id
  std::vector<std::string> id_to_token_;
  TokenIdMap vocab_;
  TokenIdMap added_tokens_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  double unk_score_ = 0;  // lowest score - 10, as HF
  std::optional<PieceTrie> trie_;  // all pieces, built once the vocabulary is read
};

}  // namespace citadel::runtime
