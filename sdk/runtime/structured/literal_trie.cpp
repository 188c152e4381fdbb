// LiteralTrie: the byte trie of enum values, property keys and tags.
#include "runtime/structured/grammar.h"

#include <algorithm>

namespace citadel::runtime::structured {

LiteralTrie::LiteralTrie() : nodes_(1) {}

bool LiteralTrie::insert(std::string_view bytes, int32_t value) {
  uint32_t node = kRoot;
  for (char c : bytes) {
    const int32_t next = child(node, static_cast<uint8_t>(c));
    if (next != kNone) {
      node = static_cast<uint32_t>(next);
      continue;
    }
    const uint32_t created = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
    auto& children = nodes_[node].children;
    const auto at = std::lower_bound(children.begin(), children.end(), std::make_pair(static_cast<uint8_t>(c), 0u));
    children.insert(at, {static_cast<uint8_t>(c), created});
    node = created;
  }
  if (nodes_[node].terminal != kNone) return false;
  nodes_[node].terminal = value;
  // Record the value on the whole path.
  uint32_t walk = kRoot;
  auto record = [&](uint32_t at) {
    auto& below = nodes_[at].below;
    below.insert(std::lower_bound(below.begin(), below.end(), value), value);
  };
  record(walk);
  for (char c : bytes) {
    walk = static_cast<uint32_t>(child(walk, static_cast<uint8_t>(c)));
    record(walk);
  }
  return true;
}

int32_t LiteralTrie::child(uint32_t node, uint8_t byte) const {
  const auto& children = nodes_[node].children;
  // Few children per node: a linear scan beats a binary search.
  for (const auto& [edge, target] : children) {
    if (edge == byte) return static_cast<int32_t>(target);
    if (edge > byte) break;
  }
  return kNone;
}

}  // namespace citadel::runtime::structured
