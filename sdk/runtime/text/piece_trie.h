// PieceTrie: a compact byte trie over a vocabulary's pieces, for the
// Unigram model's Viterbi (common-prefix search from each position). Nodes
// keep their children as sorted byte ranges of flat arrays (about 13 bytes a
// node: a 256k-piece UMT5 vocabulary takes tens of MB less than a hash map).
// Immutable after construction; used by UnigramModel; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace citadel::runtime {

class PieceTrie {
 public:
  static constexpr int32_t kRoot = 0;

  // `pieces[i]` has id i; of equal pieces the highest id is kept (as HF); empty
  // pieces are not inserted.
  explicit PieceTrie(const std::vector<std::pair<std::string, double>>& pieces);

  // The child of `node` along `byte`, or -1.
  int32_t child(int32_t node, uint8_t byte) const;
  // The id of the piece that ends at `node`, or -1.
  int32_t piece(int32_t node) const { return piece_[static_cast<size_t>(node)]; }

 private:
  std::vector<uint32_t> first_edge_;  // by node, plus one: its edges are [first_edge_[n], first_edge_[n + 1])
  std::vector<uint8_t> edge_byte_;    // sorted within a node
  std::vector<int32_t> edge_child_;
  std::vector<int32_t> piece_;        // by node
};

}  // namespace citadel::runtime
