// TokenConstraint: constrained decoding for one request. Holds the matcher
// state of the text generated so far and computes, before each token, which
// vocabulary entries keep the text a prefix of some match (a walk of the
// VocabularyTrie with the matcher, pruning every rejected prefix); the end
// tokens (EOS, end of turn) are allowed only when the text is a complete
// match. Used by the text plugins' sampling (llm-gptq's Generation) and by
// bench/structured. Not thread-safe; the Grammar and trie it points at are
// shared.
#pragma once

#include "runtime/structured/grammar.h"
#include "runtime/structured/grammar_matcher.h"
#include "runtime/structured/vocabulary_trie.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace citadel::runtime::structured {

class TokenConstraint {
 public:
  TokenConstraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const VocabularyTrie> vocabulary,
                  std::vector<int32_t> end_tokens);

  // allowed[id] = 1 for the tokens that may come next (size: vocab_size()).
  void compute_mask(std::vector<uint8_t>& allowed);
  // Sets every logit the mask forbids to -infinity (ids beyond the
  // vocabulary too); returns how many tokens stay allowed. At a dead end
  // (an unsatisfiable grammar) the end tokens stay allowed.
  size_t mask_logits(std::span<float> logits);
  // Advances with the sampled token; false (state unchanged) when the
  // grammar does not allow it (an end token before the match is complete).
  bool accept(int32_t token);
  // The text so far is a complete match / nothing more can follow it.
  bool complete();
  bool terminated() const { return GrammarMatcher::is_terminated(state_); }
  bool is_end_token(int32_t token) const;

 private:
  std::shared_ptr<const VocabularyTrie> vocabulary_;
  std::vector<int32_t> end_tokens_;
  GrammarMatcher matcher_;
  StateSet state_;
  std::vector<StateSet> levels_;  // mask walk: the state after each depth of the trie
  std::vector<uint8_t> path_;     // mask walk: the bytes of the current node's path
  std::vector<int> free_;         // mask walk: the run kind free at levels_[i] (-1: none)
  std::vector<uint8_t> allowed_;
  bool ended_ = false;  // an end token was accepted
};

}  // namespace citadel::runtime::structured
