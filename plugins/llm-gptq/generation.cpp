// Sampling, stop conditions and streamed text of one request.
#include "generation.h"

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
  TokenOutcome outcome;
  if (finished_) {
    outcome.finished = true;
    outcome.reason = reason_;
    return outcome;
  }
  // With a constraint: stop when no token may follow (cannot happen with a
  // satisfiable grammar), after an end token, or once the match is
  // terminated (nothing but an end token could follow).
  bool constraint_done = constraint_ && constraint_->mask_logits(logits) == 0;
  outcome.token = sampler_.sample(logits, sequence_);
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
