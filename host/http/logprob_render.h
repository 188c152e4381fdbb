// Rendering of token logprobs (sched::PositionLogprobs, as the plugin reports
// them) in the OpenAI shapes: chat completions' {"content": [{"token",
// "logprob", "bytes", "top_logprobs": [...]}]} and legacy completions'
// {"tokens", "token_logprobs", "top_logprobs", "text_offset"}. Token strings
// are the token's bytes as UTF-8 with invalid sequences replaced by U+FFFD;
// "bytes" carries the exact bytes. A logprob of -inf is written as -9999.0
// (JSON has no infinity), a missing one (the first prompt token) as null.
//
// Called by: completion_endpoint.cpp (whole responses and stream chunks)
// and the [http] unit tests.
#pragma once

#include "host/sched/request.h"

#include <boost/json.hpp>

#include <span>
#include <string>
#include <string_view>

namespace citadel::http {

// `bytes` as valid UTF-8 (each invalid or incomplete sequence -> U+FFFD).
std::string lossy_utf8(std::string_view bytes);

// Chat: the "content" list of entries at positions >= prompt_tokens.
boost::json::array chat_logprob_content(std::span<const sched::PositionLogprobs> entries, uint32_t prompt_tokens);

// Chat stream chunk: {"content": [...]} of the entries, or null when none
// is a generated token's.
boost::json::value chat_logprob_chunk(std::span<const sched::PositionLogprobs> entries, uint32_t prompt_tokens);

// Legacy completions: accumulates the four parallel lists of one choice;
// text_offset counts characters of the choice's text from 0 (the echoed
// prompt's first token when echo is on).
class CompletionLogprobs {
 public:
  // Entries at positions >= prompt_tokens, and the prompt's too with echo.
  void append(std::span<const sched::PositionLogprobs> entries, uint32_t prompt_tokens, bool echo);
  bool empty() const { return tokens_.empty(); }
  // The lists so far ({"tokens", "token_logprobs", "top_logprobs",
  // "text_offset"}); take_new() gives only what was appended since its
  // last call (for stream chunks), null when nothing was.
  boost::json::object to_json() const;
  boost::json::value take_new();

 private:
  boost::json::array tokens_, token_logprobs_, top_logprobs_, text_offset_;
  size_t next_offset_ = 0;  // characters of text before the next token
  size_t taken_ = 0;        // entries already handed out by take_new()
};

}  // namespace citadel::http
