// token_logprobs.h — the log-probabilities a request reports (request_input.h
// LogprobOptions): the log-softmax of a raw logits row (before penalties,
// temperature, top-k/top-p), the most likely tokens there, which prompt
// positions a step's logits rows score, and the step output's arrays
// (citadel_position_logprobs) that point into this module's storage until the
// next step. Used by LlmModel::step (llm_model.cpp) and the tests.
#pragma once

#include "forward.h"
#include "request_input.h"

#include <citadel/plugin.h>

#include "runtime/text/tokenizer.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace citadel::llm {

struct TokenScore {
  int32_t token = -1;
  float logprob = 0.0f;
};

// The score of `token` and the `top` most likely tokens (highest first, the
// lower id first among equals) of one logits row, as log-softmax values
// computed in double precision.
struct PositionScores {
  TokenScore token;
  std::vector<TokenScore> top;
};
PositionScores score_position(std::span<const float> logits, int32_t token, uint32_t top);

// The bytes of each token id for the ABI's token texts, looked up once per
// id; ids beyond the tokenizer (padded lm_head rows) have no bytes. The
// strings never move, so pointers to them stay valid for the instance.
class TokenTexts {
 public:
  TokenTexts(const runtime::Tokenizer& tokenizer, size_t logits_vocab);
  const std::string& text(int32_t id);

 private:
  const runtime::Tokenizer& tokenizer_;
  std::vector<std::string> texts_;
  std::vector<bool> known_;
};

// One request's logprob state between steps: its options and the next prompt
// position to report (each prompt position is reported once, even when a
// preempted request recomputes its prompt).
struct RequestLogprobs {
  LogprobOptions options;
  uint32_t next_prompt_position = 0;

  // Whether a chunk starting at first_position needs logits on every row.
  bool wants_all_rows(uint32_t first_position, uint32_t prompt_tokens) const {
    return options.prompt && next_prompt_position < prompt_tokens && first_position < prompt_tokens;
  }
};

// The logprobs of one request in one step, consecutive positions.
class StepLogprobs {
 public:
  void clear();
  bool empty() const { return entries_.empty(); }
  uint32_t first_position() const { return first_position_; }
  const std::vector<PositionScores>& entries() const { return entries_; }
  // Prompt positions scored by the chunk's logits rows (all_logits chunks:
  // one row per token); the first prompt token gets NaN and no top list.
  void add_prompt_rows(RequestLogprobs& request, std::span<const int32_t> prompt, const SequenceChunk& chunk,
                       std::span<const float> rows, size_t vocab);
  // The token sampled at `position` from `logits` (the raw row).
  void add_sampled(const RequestLogprobs& request, uint32_t position, int32_t token, std::span<const float> logits);
  // Points the output at this step's entries (valid until clear()).
  void export_to(citadel_step_output& output, TokenTexts& texts);

 private:
  void add(uint32_t position, PositionScores scores);

  uint32_t first_position_ = 0;
  std::vector<PositionScores> entries_;
  std::vector<citadel_position_logprobs> positions_;
  std::vector<citadel_token_logprob> tops_;
};

}  // namespace citadel::llm
