// BpeModel: the "model" part of a Hugging Face tokenizer.json of type BPE:
// vocab, ranked merges ("a b" strings or [a, b] pairs), ignore_merges,
// byte_fallback (<0xAB> tokens for characters missing from the vocabulary)
// and unk_token. Encodes one pre-tokenized word (already byte-level mapped
// when the tokenizer is byte-level). Immutable; internal to the Tokenizer.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace citadel::runtime {

class BpeModel {
 public:
  // `spec` is the tokenizer.json "model" object; errors name `source`.
  BpeModel(const boost::json::value& spec, const std::string& source);

  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Empty for ids not in the vocabulary.
  const std::string& id_to_token(int32_t id) const;
  size_t id_limit() const { return id_to_token_.size(); }  // highest id + 1
  bool byte_fallback() const { return byte_fallback_; }
  // Registers a token added outside the vocabulary (added_tokens).
  void add_token(int32_t id, const std::string& content);

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void add_merge(const std::string& a, const std::string& b, int32_t rank, const std::string& where);
  void append_unknown(std::string_view character, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<uint64_t, Merge> merges_;
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  std::optional<int32_t> unk_id_;
  std::string empty_;
};

}  // namespace citadel::runtime
