// A request as the front ends (admin `infer`, HTTP) hand it to the scheduler,
// and the events the scheduler sends back while it runs.
//
// Called by: host/admin and host/http (submit through sched::Router);
// produced by: host/sched. Events are delivered on scheduler threads and the
// sink must not block: copy what you need and hand it to your own thread.
#pragma once

#include "host/config/input_limits.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citadel::sched {

struct InferenceRequest {
  std::string model;               // models.d instance name
  std::string input_json;          // the plugin's native input (a JSON object)
  std::vector<uint8_t> payload;    // optional binary attachment (an image)
  int priority = 0;                // higher runs first within a model
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

enum class FinishReason { none, stop, length, cancelled, error };

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  uint32_t cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache
};

// A token with its log-probability (log-softmax of the raw logits) and its
// bytes as the tokenizer spells it (not necessarily complete UTF-8).
struct TokenLogprob {
  int32_t token_id = -1;
  float logprob = 0.0f;  // NaN where there is none (the first prompt token)
  std::string bytes;
};

// Logprobs of the token at one sequence position and the most likely tokens
// there. Positions below usage.prompt_tokens are prompt tokens.
struct PositionLogprobs {
  uint32_t position = 0;
  TokenLogprob token;
  std::vector<TokenLogprob> top;
};

// One event. `final` is true on the last event of a request (then
// finish_reason is set and usage is complete).
struct InferenceEvent {
  uint64_t request_id = 0;
  std::string text;           // text produced since the last event
  int32_t token_id = -1;
  std::vector<uint8_t> data;  // binary output (a frame)
  std::string data_type;
  std::vector<PositionLogprobs> logprobs;  // when the request asked for them
  bool final = false;
  FinishReason finish_reason = FinishReason::none;
  std::string error_code;     // when finish_reason == error: "invalid_argument", ...
  std::string error_message;
  Usage usage;
};

using EventSink = std::function<void(const InferenceEvent&)>;

// Why a submission was refused before it was queued.
enum class RejectReason { none, unknown_model, queue_full, invalid_input, draining, too_large, model_failed };

struct Rejection {
  RejectReason reason = RejectReason::none;
  std::string message;
  uint32_t retry_after_s = 0;  // for queue_full
};

// A queued or running request. Dropping the handle does not cancel it;
// cancel() does (the client went away), freeing its cache blocks at once.
class RequestHandle {
 public:
  virtual ~RequestHandle() = default;
  virtual uint64_t id() const = 0;
  virtual void cancel() = 0;
};

// Result of a submission: a handle, or why it was refused.
struct Submission {
  std::shared_ptr<RequestHandle> handle;  // null when rejected
  Rejection rejection;
  explicit operator bool() const { return handle != nullptr; }
};

// A model as the front ends list it.
struct ModelListing {
  std::string name;
  std::string plugin;
  std::string plugin_version;
  std::string task;    // "text_generation", "image_to_text", "text_to_video", "generic"
  std::string state;   // "serving", "draining", "loading", "failed"
  std::string failure; // why, when state is "failed"
  uint64_t generation = 0;  // reload generation that created the instance
  uint32_t max_context_tokens = 0;
  config::InputLimits inputs;  // the models.d `inputs:` block
  uint64_t device_weight_bytes = 0;  // describe(): weights on the model's device (0 on the CPU)
};

// What a tokenizer call gives back: tokens (tokenize) or text (detokenize),
// the model's context length, or why not (unknown_model; invalid_input for
// bad input and for a plugin without a tokenizer).
struct TokenizerReply {
  std::vector<int32_t> tokens;
  std::string text;
  uint32_t max_model_len = 0;
  Rejection rejection;
  explicit operator bool() const { return rejection.reason == RejectReason::none; }
};

// What admin `infer` and the HTTP server talk to. Implemented by
// sched::Router, which maps model names to their schedulers and is switched
// atomically by a reload.
class RequestRouter {
 public:
  virtual ~RequestRouter() = default;
  // Queues a request for its model, or says why not. The sink receives every
  // event of the request, the last one with final = true, exactly once.
  virtual Submission submit(InferenceRequest request, EventSink sink) = 0;
  virtual std::vector<ModelListing> list_models() const = 0;
  // True when every configured model is loaded (serving or failed) and no
  // model reported a device-fatal error.
  virtual bool ready() const = 0;
  // The model's tokenizer (/tokenize, /detokenize): the prompt of
  // input_json (the plugin's input schema: prompt or messages) as token ids,
  // and token ids as text. Blocks until the model's current step is done.
  // The defaults answer unknown_model.
  virtual TokenizerReply tokenize(const std::string& model, const std::string& input_json);
  virtual TokenizerReply detokenize(const std::string& model, const std::vector<int32_t>& tokens);
};

const char* to_string(FinishReason reason);
const char* to_string(RejectReason reason);

}  // namespace citadel::sched
