// TokenConstraint: the vocabulary mask walk and the per-token advance.
#include "runtime/structured/token_constraint.h"

#include <algorithm>
#include <limits>

namespace citadel::runtime::structured {

TokenConstraint::TokenConstraint(std::shared_ptr<const Grammar> grammar,
                                 std::shared_ptr<const VocabularyTrie> vocabulary, std::vector<int32_t> end_tokens)
    : vocabulary_(std::move(vocabulary)), end_tokens_(std::move(end_tokens)), matcher_(std::move(grammar)) {
  state_ = matcher_.initial();
  levels_.resize(vocabulary_->max_depth() + 1);
  path_.resize(vocabulary_->max_depth() + 1);
  free_.resize(vocabulary_->max_depth() + 1);
}

bool TokenConstraint::is_end_token(int32_t token) const {
  return std::find(end_tokens_.begin(), end_tokens_.end(), token) != end_tokens_.end();
}

bool TokenConstraint::complete() { return matcher_.can_end(state_); }

void TokenConstraint::compute_mask(std::vector<uint8_t>& allowed) {
  const VocabularyTrie& trie = *vocabulary_;
  allowed.assign(trie.vocab_size(), 0);
  if (ended_) return;
  levels_[0] = state_;
  // Inside a free string (or free text before a tag), runs of bytes that
  // keep the state are allowed without the matcher; the states along the
  // path are computed only when a node needs them (levels_[0..valid] hold
  // the states of the path's prefixes, free_[i] the run kind free there).
  free_[0] = matcher_.free_run(state_);
  uint32_t valid = 0;
  auto compute_up_to = [&](uint32_t depth) {
    for (; valid < depth; ++valid) {
      matcher_.advance(levels_[valid], path_[valid], levels_[valid + 1]);
      free_[valid + 1] = matcher_.free_run(levels_[valid + 1]);
    }
  };
  const size_t count = trie.node_count();
  size_t node = 0;
  while (node < count) {
    const uint32_t depth = trie.depth(node);
    path_[depth - 1] = trie.byte(node);
    valid = std::min(valid, depth - 1);
    bool fast = false, whole_subtree = false;
    for (const auto kind : {VocabularyTrie::kStringRun, VocabularyTrie::kTextRun}) {
      const uint32_t run_start = trie.run_start(kind, node);
      if (fast || run_start >= depth || !trie.run_valid(kind, node)) continue;
      // Free at the run's start, or at the deepest state already known
      // inside the run (a partial tag that the run broke off, say).
      compute_up_to(run_start);
      const uint32_t known = std::min(valid, depth - 1);
      fast = free_[run_start] == kind || free_[known] == kind;
      whole_subtree = fast && trie.run_subtree(kind, node);
    }
    if (whole_subtree) {
      for (int32_t id : trie.subtree_tokens(node)) allowed[static_cast<size_t>(id)] = 1;
      node = trie.skip_to(node);
      continue;
    }
    if (!fast) {
      compute_up_to(depth - 1);
      if (!matcher_.advance(levels_[depth - 1], trie.byte(node), levels_[depth])) {
        node = trie.skip_to(node);
        continue;
      }
      free_[depth] = matcher_.free_run(levels_[depth]);
      valid = depth;
    }
    for (int32_t id : trie.tokens_at(node)) allowed[static_cast<size_t>(id)] = 1;
    ++node;
  }
  if (matcher_.can_end(state_))
    for (int32_t id : end_tokens_)
      if (id >= 0 && static_cast<size_t>(id) < allowed.size()) allowed[static_cast<size_t>(id)] = 1;
}

size_t TokenConstraint::mask_logits(std::span<float> logits) {
  compute_mask(allowed_);
  // A dead end (only an unsatisfiable grammar has one): let the request end.
  if (std::find(allowed_.begin(), allowed_.end(), 1) == allowed_.end())
    for (int32_t id : end_tokens_)
      if (id >= 0 && static_cast<size_t>(id) < allowed_.size()) allowed_[static_cast<size_t>(id)] = 1;
  size_t kept = 0;
  for (size_t id = 0; id < logits.size(); ++id) {
    if (id < allowed_.size() && allowed_[id]) {
      ++kept;
    } else {
      logits[id] = -std::numeric_limits<float>::infinity();
    }
  }
  return kept;
}

bool TokenConstraint::accept(int32_t token) {
  if (ended_) return false;
  if (is_end_token(token)) {
    if (!matcher_.can_end(state_)) return false;
    ended_ = true;
    return true;
  }
  if (token < 0 || static_cast<size_t>(token) >= vocabulary_->vocab_size()) return false;
  const std::string& bytes = vocabulary_->token_bytes(token);
  if (bytes.empty()) return false;
  StateSet current = state_, next;
  for (char c : bytes) {
    if (!matcher_.advance(current, static_cast<uint8_t>(c), next)) return false;
    std::swap(current, next);
  }
  state_ = std::move(current);
  return true;
}

}  // namespace citadel::runtime::structured
