// generation.h — one text-generation request's state between steps: its
// known sequence (prompt + generated tokens), sampler, stop conditions
// (stop token ids, stop strings, max new tokens) and the streaming
// detokenizer that emits only complete UTF-8. Owned by the model
// (llm_model.cpp), one per open request.
#pragma once

#include <citadel/plugin.h>

#include "runtime/kernels/sampling.h"
#include "runtime/structured/token_constraint.h"
#include "runtime/text/stop_strings.h"
#include "runtime/text/tokenizer.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace citadel::llm {

struct GenerationLimits {
  uint32_t max_new_tokens = 0;
  std::vector<int32_t> stop_token_ids;
  std::vector<std::string> stop_strings;
  // Ids at or above this have no text (lm_head rows padded beyond the
  // tokenizer); they may be sampled, as transformers does, and decode to "".
  size_t tokenizer_vocab = 0;
};

// What one sampled token produced.
struct TokenOutcome {
  int32_t token = -1;
  std::string text;  // complete UTF-8, stop strings cut off
  bool finished = false;
  citadel_finish_reason reason = CITADEL_FINISH_NONE;
};

class Generation {
 public:
  Generation(std::vector<int32_t> prompt, const runtime::SamplingParams& sampling,
             GenerationLimits limits, const runtime::Tokenizer& tokenizer);

  const std::vector<int32_t>& sequence() const { return sequence_; }
  uint32_t prompt_tokens() const { return prompt_tokens_; }
  uint32_t generated_tokens() const { return static_cast<uint32_t>(sequence_.size()) - prompt_tokens_; }
  uint32_t max_new_tokens() const { return limits_.max_new_tokens; }
  bool finished() const { return finished_; }
  citadel_finish_reason finish_reason() const { return reason_; }

  // Samples the next token from `logits` (modified), appends it and returns
  // its text and whether the request is done.
  TokenOutcome sample_next(std::span<float> logits);
  // True when sample_next would pick the argmax of the logits as given
  // (greedy sampling, no repetition penalty, no constraint): the caller may
  // then pass that argmax to take_argmax instead of the logits.
  bool picks_argmax() const { return !constraint_ && sampler_.picks_argmax(); }
  // As sample_next for a request where picks_argmax(): `token` is the
  // argmax of the step's logits row.
  TokenOutcome take_argmax(int32_t token);
  // A request with max_new_tokens 0 (prompt logprobs only) ends once its
  // prompt is processed, without sampling.
  void finish_after_prompt();

  // Constrained decoding: tokens the constraint forbids are masked before
  // sampling; the request stops once the constraint's match is terminated.
  void set_constraint(std::unique_ptr<runtime::structured::TokenConstraint> constraint) {
    constraint_ = std::move(constraint);
  }

 private:
  // At the end: the decoder's held bytes and the stop matcher's held tail.
  std::string flush_text();
  // Appends the chosen `token` and works out its text and whether the
  // request is done (`constraint_done`: the constraint allows nothing more).
  TokenOutcome append(int32_t token, bool constraint_done);

  std::vector<int32_t> sequence_;
  uint32_t prompt_tokens_;
  GenerationLimits limits_;
  runtime::Sampler sampler_;
  runtime::StreamingDecoder decoder_;
  runtime::StopStringMatcher stop_matcher_;
  std::unique_ptr<runtime::structured::TokenConstraint> constraint_;
  bool finished_ = false;
  citadel_finish_reason reason_ = CITADEL_FINISH_NONE;
};

}  // namespace citadel::llm
