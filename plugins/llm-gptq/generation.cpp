// Sampling, stop conditions and streamed text of one request.
#include "generation.h"

#include "runtime/core/error.h"

namespace citadel::llm {

Generation::Generation(std::vector<int32_t> prompt, const runtime::SamplingParams& sampling,
                       GenerationLimits limits, const runtime::Tokenizer& tokenizer)
    : sequence_(std::move(prompt)),
      prompt_tokens_(static_cast<uint32_t>(sequence_.size())),
      limits_(std::move(limits)),
      sampler_(sampling),
      decoder_(tokenizer, /*skip_special_tokens=*/true),
      stop_matcher_(limits_.stop_strings) {}

void Generation::finish_after_prompt() {
  finished_ = true;
  reason_ = CITADEL_FINISH_LENGTH;
}

std::string Generation::flush_text() {
  std::string text = stop_matcher_.push(decoder_.flush());
  if (!stop_matcher_.stopped()) text += stop_matcher_.flush();
  return text;
}

TokenOutcome Generation::sample_next(std::span<float> logits) {
  if (finished_) return TokenOutcome{-1, {}, true, reason_};
  // With a constraint: stop when no token may follow (cannot happen with a
  // satisfiable grammar), after an end token, or once the match is
  // terminated (nothing but an end token could follow).
  const bool constraint_done = constraint_ && constraint_->mask_logits(logits) == 0;
  return append(sampler_.sample(logits, sequence_), constraint_done);
}

TokenOutcome Generation::take_argmax(int32_t token) {
  if (finished_) return TokenOutcome{-1, {}, true, reason_};
  if (!picks_argmax()) runtime::throw_invalid("llm-gptq: take_argmax for a request that samples otherwise");
  return append(token, false);
}

TokenOutcome Generation::append(int32_t token, bool constraint_done) {
  TokenOutcome outcome;
  outcome.token = token;
  sequence_.push_back(outcome.token);
  if (constraint_ && !constraint_done) {
    constraint_done = !constraint_->accept(outcome.token) || constraint_->terminated() ||
                      constraint_->is_end_token(outcome.token);
  }
  const bool has_text = static_cast<size_t>(outcome.token) < limits_.tokenizer_vocab;

  if (runtime::is_stop_token(outcome.token, limits_.stop_token_ids)) {
    outcome.finished = true;
    outcome.reason = CITADEL_FINISH_STOP;
    outcome.text = flush_text();
  } else {
    outcome.text = stop_matcher_.push(has_text ? decoder_.push(outcome.token) : std::string());
    if (stop_matcher_.stopped()) {
      outcome.finished = true;
      outcome.reason = CITADEL_FINISH_STOP;
    } else if (constraint_done) {
      outcome.finished = true;
      outcome.reason = CITADEL_FINISH_STOP;
      outcome.text += flush_text();
    } else if (generated_tokens() >= limits_.max_new_tokens) {
      outcome.finished = true;
      outcome.reason = CITADEL_FINISH_LENGTH;
      outcome.text += flush_text();
      if (stop_matcher_.stopped()) outcome.reason = CITADEL_FINISH_STOP;
    }
  }
  finished_ = outcome.finished;
  reason_ = outcome.reason;
  return outcome;
}

}  // namespace citadel::llm
