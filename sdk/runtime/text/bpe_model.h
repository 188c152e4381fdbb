// BpeModel: the "model" part of a Hugging Face tokenizer.json of type BPE:
// vocab, ranked merges ("a b" strings or [a, b] pairs), ignore_merges,
// byte_fallback (<0xAB> tokens for characters missing from the vocabulary)
// and unk_token with fuse_unk. Encodes one pre-tokenized word (already
// byte-level mapped when the tokenizer is byte-level) as HF's BPE::merge_word
// does. Immutable; internal to the Tokenizer.
#pragma once

#include "runtime/text/token_id_map.h"
#include "runtime/text/tokenizer_model.h"

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace citadel::runtime {

class BpeModel final : public TokenizerModel {
 public:
  // `spec` is the tokenizer.json "model" object; errors name `source`.
  BpeModel(const boost::json::value& spec, const std::string& source);

  void encode_word(std::string_view word, std::vector<int32_t>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string& id_to_token(int32_t id) const override;
  size_t id_limit() const override { return id_to_token_.size(); }
  void add_token(int32_t id, const std::string& content) override;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void add_merge(const std::string& a, const std::string& b, int32_t rank, const std::string& where);
  // The word's characters as initial symbols (byte fallback, unk), as HF does.
  std::vector<int32_t> initial_symbols(std::string_view word) const;

  void add_vocab_token(int32_t id, const std::string& content);
  std::optional<int32_t> find_in_vocab(std::string_view token) const;

  TokenIdMap vocab_;         // the model's own vocabulary: what encoding may produce
  TokenIdMap added_tokens_;  // tokens only added for lookups
  std::vector<int32_t> byte_ids_;  // id of <0xAB> by byte, -1 if absent
  std::vector<std::string> id_to_token_;
  std::unordered_map<uint64_t, Merge> merges_;
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  std::optional<int32_t> unk_id_;
  std::string empty_;
};

}  // namespace citadel::runtime
