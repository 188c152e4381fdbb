// VocabularyTrie: every token's bytes in one trie, laid out in pre-order so
// that a mask computation walks it as a flat loop (skip_to jumps over a
// subtree whose prefix the grammar rejects), plus each token's bytes by id
// for advancing a matcher with the token that was sampled. Special tokens
// (the tokenizer's special added tokens) are left out: they never match a
// grammar. Built once per model (from_tokenizer takes ~0.1 s for 150k
// tokens) and shared, immutable, by every constrained request.
#pragma once

#include "runtime/text/tokenizer.h"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace citadel::runtime::structured {

class VocabularyTrie {
 public:
  // `tokens`: (id, bytes); ids < vocab_size; empty strings are skipped.
  VocabularyTrie(std::vector<std::pair<int32_t, std::string>> tokens, size_t vocab_size);
  static VocabularyTrie from_tokenizer(const Tokenizer& tokenizer);

  size_t vocab_size() const { return token_bytes_.size(); }
  size_t node_count() const { return bytes_.size(); }
  uint8_t byte(size_t node) const { return bytes_[node]; }
  uint32_t depth(size_t node) const { return depths_[node]; }  // 1 for a token's first byte
  uint32_t max_depth() const { return max_depth_; }
  uint32_t skip_to(size_t node) const { return skips_[node]; }  // first node after the subtree
  // Runs of bytes that leave a matcher state unchanged, by kind:
  //   kStringRun: plain JSON-string bytes (no '"', '\\' or control byte,
  //               valid, possibly unfinished, UTF-8) in an unbounded string;
  //   kTextRun:   free text before a tag opening with '<' (no '<').
  // For each kind: the depth where the node's last run begins (after its
  // last break byte; 0 when none) and whether the run is valid. A mask walk
  // whose state at that depth is free for the kind takes the node without
  // running the matcher, and a whole subtree at once (subtree_tokens) when
  // every node below continues the run.
  enum RunKind : uint8_t { kStringRun = 0, kTextRun = 1, kRunKinds = 2 };
  uint32_t run_start(RunKind kind, size_t node) const { return runs_[kind].start[node]; }
  bool run_valid(RunKind kind, size_t node) const { return runs_[kind].valid[node] != 0; }
  bool run_subtree(RunKind kind, size_t node) const { return runs_[kind].subtree[node] != 0; }
  std::span<const int32_t> subtree_tokens(size_t node) const {
    return {token_ids_.data() + token_begin_[node], token_begin_[skips_[node]] - token_begin_[node]};
  }
  std::span<const int32_t> tokens_at(size_t node) const {
    return {token_ids_.data() + token_begin_[node], token_begin_[node + 1] - token_begin_[node]};
  }
  // The bytes of token `id` ("" for specials and ids without text).
  const std::string& token_bytes(int32_t id) const { return token_bytes_.at(static_cast<size_t>(id)); }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<uint32_t> depths_;
  std::vector<uint32_t> skips_;
  struct Runs {
    std::vector<uint32_t> start;
    std::vector<uint8_t> valid;
    std::vector<uint8_t> subtree;
  };
  Runs runs_[kRunKinds];
  std::vector<uint32_t> token_begin_;  // node_count + 1 offsets into token_ids_
  std::vector<int32_t> token_ids_;
  std::vector<std::string> token_bytes_;
  uint32_t max_depth_ = 0;
};

}  // namespace citadel::runtime::structured
