// Translation between the OpenAI completions / chat completions API and the
// native input of text plugins, and from scheduler events back to OpenAI
// response objects and stream chunks. Pure functions: JSON in, JSON out.
//
// Called by: completion_endpoint.cpp (the /v1/completions and
// /v1/chat/completions handlers) and the [http] unit tests. Errors are
// ApiError (400) naming the field.
#pragma once

#include "host/http/openai_tools.h"
#include "host/http/tool_call_parser.h"
#include "host/sched/request.h"

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

enum class CompletionApi { completions, chat };

struct TranslateLimits {
  uint32_t max_tokens_limit = 4096;  // http.max_tokens_limit
  uint32_t max_choices = 128;        // upper bound of n x prompts
};

// A validated completion or chat completion request.
struct CompletionRequest {
  CompletionApi api = CompletionApi::completions;
  std::string model;
  std::vector<std::string> prompts;  // completions: one or more prompts
  // Per prompt: its token ids when the prompt was given as ids (then
  // prompts[i] is its text, filled by the endpoint for echo), else empty.
  std::vector<std::vector<int32_t>> prompt_token_ids;
  boost::json::array messages;       // chat: [{"role", "content"}] with string contents
  uint32_t max_tokens = 16;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<int64_t> seed;
  std::optional<double> repetition_penalty;
  std::vector<std::string> stop;
  uint32_t n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool echo = false;           // completions: prepend the prompt to the text
  bool logprobs = false;       // report token logprobs (chat: logprobs; completions: logprobs >= 0)
  uint32_t top_logprobs = 0;   // chat: top_logprobs (<= 20); completions: the logprobs integer (<= 5)
  int priority = 0;            // vLLM's extension: higher runs first within the model
  StructuredFields structured;  // chat: response_format, tools, tool_choice

  // Choices the request produces: prompts x n (chat: n).
  uint32_t choice_count() const;
  // Whether the plugin must score the prompt: echo with logprobs, or
  // max_tokens 0 (which only echo allows: the prompt is processed, nothing
  // generated).
  bool prompt_logprobs() const { return echo && (logprobs || max_tokens == 0); }
};

// Parse and validate a body; max_tokens defaults to 16 for completions (as
// OpenAI does) and to max_tokens_limit for chat.
CompletionRequest parse_completion_request(std::string_view body, const TranslateLimits& limits);
CompletionRequest parse_chat_request(std::string_view body, const TranslateLimits& limits);

// The native input of choice `index` (prompt index * n + i): {"prompt" |
// "messages", "max_tokens", "temperature", "top_p", "top_k", "seed" (+ i),
// "stop", "repetition_penalty", "logprobs", "top_logprobs",
// "prompt_logprobs"}; absent options are left out.
std::string native_input(const CompletionRequest& request, uint32_t index);

// "stop", "length", or null-like "" (cancelled/none) as OpenAI spells it.
const char* openai_finish_reason(sched::FinishReason reason);

// The outcome of one choice once its final event arrived.
struct ChoiceOutcome {
  std::string text;
  sched::FinishReason finish_reason = sched::FinishReason::none;
  sched::Usage usage;
  std::vector<ToolCall> tool_calls;  // chat with tools: calls parsed out of the text
  std::vector<sched::PositionLogprobs> logprobs;  // every event's, in order
};

// Usage summed over choices: each prompt counted once, completions summed.
sched::Usage total_usage(const CompletionRequest& request, const std::vector<ChoiceOutcome>& choices);
boost::json::object usage_json(const sched::Usage& usage);

// Identity of one response: "cmpl-<n>" / "chatcmpl-<n>", created (unix s).
struct ResponseIdentity {
  std::string id;
  int64_t created = 0;
};
std::string response_id(CompletionApi api, uint64_t sequence);

// The whole non-streaming response object (text_completion / chat.completion).
boost::json::object completion_response(const CompletionRequest& request,
                                        const ResponseIdentity& identity,
                                        const std::vector<ChoiceOutcome>& choices);

// Stream chunks (text_completion / chat.completion.chunk):
// the chat opener with delta {"role": "assistant", "content": ""};
boost::json::object stream_role_chunk(const CompletionRequest& request,
                                      const ResponseIdentity& identity, uint32_t index);
// a piece of text for one choice, with its logprobs (null when none: chat
// {"content": [...]}, completions the new part of the four lists);
boost::json::object stream_text_chunk(const CompletionRequest& request,
                                      const ResponseIdentity& identity, uint32_t index,
                                      const std::string& text,
                                      boost::json::value logprobs = nullptr);
// the last chunk of a choice, carrying finish_reason (and an empty delta);
boost::json::object stream_final_chunk(const CompletionRequest& request,
                                       const ResponseIdentity& identity, uint32_t index,
                                       sched::FinishReason reason, bool tool_calls = false);
// the tool calls of a choice, as one delta {"tool_calls": [{"index", "id",
// "type", "function"}]}; the final chunk then says "tool_calls";
boost::json::object stream_tool_calls_chunk(const CompletionRequest& request,
                                            const ResponseIdentity& identity, uint32_t index,
                                            const std::vector<ToolCall>& calls);
// the usage chunk (choices: []) sent last when stream_options.include_usage.
boost::json::object stream_usage_chunk(const CompletionRequest& request,
                                       const ResponseIdentity& identity,
                                       const sched::Usage& usage);

// /v1/models: {"object": "list", "data": [entry...]} with one entry per model
// name (an instance draining during a reload is hidden behind its successor).
// An entry: {"id", "object": "model", "created", "owned_by": "citadel", "root",
// "parent", "max_model_len", "task", "plugin", "plugin_version", "state"}.
boost::json::object model_entry(const sched::ModelListing& model, int64_t created);
boost::json::object model_list(const std::vector<sched::ModelListing>& models, int64_t created);

}  // namespace citadel::http
