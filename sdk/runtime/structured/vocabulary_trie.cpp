// VocabularyTrie: pre-order trie of the vocabulary's token bytes.
#include "runtime/structured/vocabulary_trie.h"

#include <algorithm>

namespace citadel::runtime::structured {
namespace {

// UTF-8 progress inside a JSON string: (bytes still expected << 16) | (low
// << 8) | high for the next byte; 0 at a character boundary. Returns
// UINT32_MAX when `byte` cannot come next.
uint32_t string_step(uint32_t state, uint8_t byte) {
  if (state != 0) {
    const uint32_t more = state >> 16, low = (state >> 8) & 0xFF, high = state & 0xFF;
    if (byte < low || byte > high) return UINT32_MAX;
    return more == 1 ? 0 : ((more - 1) << 16) | (0x80 << 8) | 0xBF;
  }
  if (byte < 0x20 || byte == '"' || byte == '\\') return UINT32_MAX;
  if (byte < 0x80) return 0;
  if (byte >= 0xC2 && byte <= 0xDF) return (1u << 16) | (0x80 << 8) | 0xBF;
  if (byte == 0xE0) return (2u << 16) | (0xA0 << 8) | 0xBF;
  if ((byte >= 0xE1 && byte <= 0xEC) || byte == 0xEE || byte == 0xEF) return (2u << 16) | (0x80 << 8) | 0xBF;
  if (byte == 0xED) return (2u << 16) | (0x80 << 8) | 0x9F;
  if (byte == 0xF0) return (3u << 16) | (0x90 << 8) | 0xBF;
  if (byte >= 0xF1 && byte <= 0xF3) return (3u << 16) | (0x80 << 8) | 0xBF;
  if (byte == 0xF4) return (3u << 16) | (0x80 << 8) | 0x8F;
  return UINT32_MAX;
}

}  // namespace

VocabularyTrie::VocabularyTrie(std::vector<std::pair<int32_t, std::string>> tokens, size_t vocab_size)
    : token_bytes_(vocab_size) {
  std::erase_if(tokens, [](const auto& token) { return token.second.empty(); });
  for (const auto& [id, bytes] : tokens) token_bytes_.at(static_cast<size_t>(id)) = bytes;
  std::sort(tokens.begin(), tokens.end(),
            [](const auto& x, const auto& y) { return x.second < y.second || (x.second == y.second && x.first < y.first); });
  // Sorted strings create their prefix nodes in pre-order: a node's subtree
  // ends when it leaves the path.
  std::vector<uint32_t> path;  // node index per depth - 1
  std::vector<uint32_t> utf8;  // string_step state of each node's prefix (UINT32_MAX: not plain)
  std::vector<std::pair<uint32_t, int32_t>> node_tokens;
  const std::string* previous = nullptr;
  for (const auto& [id, bytes] : tokens) {
    size_t common = 0;
    if (previous != nullptr) {
      const size_t limit = std::min({previous->size(), bytes.size(), path.size()});
      while (common < limit && (*previous)[common] == bytes[common]) ++common;
    }
    while (path.size() > common) {
      skips_[path.back()] = static_cast<uint32_t>(bytes_.size());
      path.pop_back();
    }
    for (size_t at = common; at < bytes.size(); ++at) {
      const auto byte = static_cast<uint8_t>(bytes[at]);
      const uint32_t parent_state = path.empty() ? 0 : utf8[path.back()];
      Runs& string_runs = runs_[kStringRun];
      if (byte < 0x20 || byte == '"' || byte == '\\') {  // a break: the run starts after it
        utf8.push_back(0);
        string_runs.start.push_back(static_cast<uint32_t>(at + 1));
        string_runs.valid.push_back(1);
      } else {
        const uint32_t state = parent_state == UINT32_MAX ? UINT32_MAX : string_step(parent_state, byte);
        utf8.push_back(state);
        string_runs.start.push_back(path.empty() ? 0 : string_runs.start[path.back()]);
        string_runs.valid.push_back(state != UINT32_MAX);
      }
      Runs& text_runs = runs_[kTextRun];
      text_runs.start.push_back(byte == '<' ? static_cast<uint32_t>(at + 1)
                                            : (path.empty() ? 0 : text_runs.start[path.back()]));
      text_runs.valid.push_back(1);
      path.push_back(static_cast<uint32_t>(bytes_.size()));
      bytes_.push_back(static_cast<uint8_t>(bytes[at]));
      depths_.push_back(static_cast<uint32_t>(path.size()));
      skips_.push_back(0);
    }
    max_depth_ = std::max(max_depth_, static_cast<uint32_t>(path.size()));
    node_tokens.emplace_back(path.back(), id);
    previous = &bytes;
  }
  while (!path.empty()) {
    skips_[path.back()] = static_cast<uint32_t>(bytes_.size());
    path.pop_back();
  }
  // A subtree continues a run when each of its nodes continues the run of its root.
  for (Runs& runs : runs_) {
    runs.subtree.assign(bytes_.size(), 0);
    for (size_t node = bytes_.size(); node-- > 0;) {
      bool plain = runs.valid[node] && runs.start[node] < depths_[node];
      for (size_t child = node + 1; plain && child < skips_[node]; child = skips_[child])
        plain = runs.subtree[child] && runs.start[child] == runs.start[node];
      runs.subtree[node] = plain;
    }
  }
  // node_tokens is already sorted by node (pre-order creation).
  token_begin_.assign(bytes_.size() + 1, 0);
  for (const auto& [node, id] : node_tokens) ++token_begin_[node + 1];
  for (size_t i = 0; i < bytes_.size(); ++i) token_begin_[i + 1] += token_begin_[i];
  token_ids_.reserve(node_tokens.size());
  for (const auto& [node, id] : node_tokens) token_ids_.push_back(id);
}

VocabularyTrie VocabularyTrie::from_tokenizer(const Tokenizer& tokenizer) {
  std::vector<std::pair<int32_t, std::string>> tokens;
  const size_t size = tokenizer.vocab_size();
  tokens.reserve(size);
  for (size_t id = 0; id < size; ++id) {
    const int32_t token = static_cast<int32_t>(id);
    if (tokenizer.is_special(token)) continue;
    try {
      tokens.emplace_back(token, tokenizer.token_bytes(token));
    } catch (const std::exception&) {
      // A gap in the ids: no token there.
    }
  }
  return VocabularyTrie(std::move(tokens), size);
}

}  // namespace citadel::runtime::structured
