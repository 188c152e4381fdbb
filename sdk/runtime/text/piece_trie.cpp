// PieceTrie: built from the pieces in sorted order, so that every node's
// children are appended in increasing byte order, then laid out by parent.
#include "runtime/text/piece_trie.h"

#include <algorithm>
#include <numeric>

namespace citadel::runtime {

PieceTrie::PieceTrie(const std::vector<std::pair<std::string, double>>& pieces) {
  std::vector<uint32_t> order(pieces.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return pieces[a].first < pieces[b].first; });
  // Nodes in creation order with their parent and byte; `path` holds the
  // nodes along the previous piece.
  std::vector<int32_t> parent{-1};
  std::vector<uint8_t> byte{0};
  piece_.assign(1, -1);
  std::vector<int32_t> path{kRoot};
  const std::string* previous = nullptr;
  for (uint32_t id : order) {
    const std::string& text = pieces[id].first;
    if (text.empty()) continue;
    size_t common = 0;
    if (previous != nullptr) {
      while (common < text.size() && common < previous->size() && text[common] == (*previous)[common]) ++common;
    }
    path.resize(common + 1);
    for (size_t i = common; i < text.size(); ++i) {
      parent.push_back(path.back());
      byte.push_back(static_cast<uint8_t>(text[i]));
      piece_.push_back(-1);
      path.push_back(static_cast<int32_t>(parent.size() - 1));
    }
    // Equal pieces come in id order (stable sort): the highest id wins, as in
    // HF's token_to_ids map.
    piece_[static_cast<size_t>(path.back())] = static_cast<int32_t>(id);
    previous = &text;
  }
  // Edges grouped by parent; within a parent they were created in byte order.
  const size_t nodes = parent.size();
  first_edge_.assign(nodes + 1, 0);
  for (size_t n = 1; n < nodes; ++n) ++first_edge_[static_cast<size_t>(parent[n]) + 1];
  for (size_t n = 0; n < nodes; ++n) first_edge_[n + 1] += first_edge_[n];
  edge_byte_.resize(nodes - 1);
  edge_child_.resize(nodes - 1);
  std::vector<uint32_t> fill(first_edge_.begin(), first_edge_.end() - 1);
  for (size_t n = 1; n < nodes; ++n) {
    const uint32_t at = fill[static_cast<size_t>(parent[n])]++;
    edge_byte_[at] = byte[n];
    edge_child_[at] = static_cast<int32_t>(n);
  }
}

int32_t PieceTrie::child(int32_t node, uint8_t b) const {
  const auto begin = edge_byte_.begin() + first_edge_[static_cast<size_t>(node)];
  const auto end = edge_byte_.begin() + first_edge_[static_cast<size_t>(node) + 1];
  const auto it = std::lower_bound(begin, end, b);
  if (it == end || *it != b) return -1;
  return edge_child_[static_cast<size_t>(it - edge_byte_.begin())];
}

}  // namespace citadel::runtime
