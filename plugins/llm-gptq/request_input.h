// request_input.h — the native input of a text-generation request, parsed
// and validated:
//   {"prompt": "text" | [token ids], "messages": [{"role", "content"}],
//    "max_tokens", "temperature", "top_p", "top_k", "seed", "stop": "s" | [...],
//    "repetition_penalty", "ignore_eos": false,
//    "logprobs": false, "top_logprobs": 0..20, "prompt_logprobs": false}
// plus the structured-output fields "constraint", "tools", "tool_choice",
// "parallel_tool_calls" (runtime/structured/structured_request.h) and the
// messages' "tool_calls" / "tool_call_id".
// max_tokens may be 0 with prompt_logprobs (score the prompt only).
// Exactly one of prompt / messages. Used by the model's request_open; errors
// throw runtime::RuntimeError (INVALID_ARGUMENT) naming the field.
#pragma once

#include "runtime/kernels/sampling.h"
#include "runtime/structured/structured_request.h"
#include "runtime/text/chat_template.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::llm {

// Which log-probabilities the request reports (token_logprobs.h computes them).
inline constexpr int64_t kMaxTopLogprobs = 20;
struct LogprobOptions {
  bool sampled = false;  // each generated token's
  bool prompt = false;   // every prompt token's (the first has none)
  uint32_t top = 0;      // the most likely tokens at each reported position
  bool any() const { return sampled || prompt; }
};

struct RequestInput {
  std::optional<std::string> prompt_text;
  std::vector<int32_t> prompt_token_ids;         // when "prompt" is an id array
  std::vector<runtime::ChatMessage> messages;    // when "messages" is given
  std::optional<uint32_t> max_tokens;            // absent: up to the context
  runtime::SamplingParams sampling;              // temperature 1, no seed: random
  std::vector<std::string> stop;
  bool ignore_eos = false;  // keep generating past stop token ids (benchmarks, tests)
  runtime::structured::StructuredRequest structured;  // response format, tools
  LogprobOptions logprobs;

  bool is_chat() const { return !messages.empty(); }
};

RequestInput parse_request_input(std::string_view input_json);

}  // namespace citadel::llm
