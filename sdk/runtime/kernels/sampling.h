// Next-token sampling from logits with Hugging Face semantics and order:
// repetition penalty (over the prompt and generated ids: positive logits are
// divided, negative ones multiplied), temperature, top-k, top-p; temperature
// 0 (or top_k 1) means greedy. A seeded std::mt19937_64 makes runs
// reproducible. Used by text plugins (one Sampler per request).
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace citadel::runtime {

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy
  int32_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float repetition_penalty = 1.0f;  // 1: off
  uint64_t seed = 0;
};

// Index of the largest logit (the lowest index among equals).
int32_t argmax(std::span<const float> logits);

// HF's RepetitionPenaltyLogitsProcessor: every distinct id in `tokens`.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> tokens,
                              float penalty);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // Picks the next token; `logits` is modified (penalty, temperature).
  // `previous_tokens` are the prompt and the tokens generated so far.
  int32_t sample(std::span<float> logits, std::span<const int32_t> previous_tokens);
  const SamplingParams& params() const { return params_; }
  // True when sample() returns argmax(logits) of the logits as given
  // (greedy, no repetition penalty): the caller may take the argmax
  // wherever it is cheapest (llm-gptq: on the GPU) and skip sample().
  bool picks_argmax() const {
    return (params_.temperature == 0.0f || params_.top_k == 1) && params_.repetition_penalty == 1.0f;
  }

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

// True when `token` is one of `stop_ids`.
bool is_stop_token(int32_t token, std::span<const int32_t> stop_ids);

}  // namespace citadel::runtime
