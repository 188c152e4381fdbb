// Translation for the non-OpenAI endpoints /v1/videos (a prompt and video
// options) and /inference (a model's native input), and from their events to
// response objects. Pure functions. (/v1/ocr: ocr_request.h.)
//
// Called by: task_endpoints.cpp and the [http] unit tests. Errors are
// ApiError (400) naming the field.
#pragma once

#include "host/sched/request.h"

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

// A request for one model, ready to submit.
struct TaskRequest {
  std::optional<std::string> model;  // absent: any model of the endpoint's task
  std::string input_json;            // the plugin's native input
  std::vector<uint8_t> payload;      // decoded image, if any
  int priority = 0;
  bool stream = false;
};

// /v1/videos: {"model"?, "prompt" (required), "stream"?, any video options}
// -> native input: every field but "model" and "stream".
TaskRequest parse_video_request(std::string_view body);

// /inference: {"model" (required), "input": {...} (required), "image"?
// (base64 payload), "priority"?, "stream"?} -> input as the native input.
TaskRequest parse_inference_request(std::string_view body);

// Everything the events of one request carried.
struct CollectedOutput {
  std::string text;
  std::vector<int32_t> token_ids;
  struct Data {
    std::string type;
    std::vector<uint8_t> bytes;
  };
  std::vector<Data> data;
  sched::FinishReason finish_reason = sched::FinishReason::none;
  sched::Usage usage;
};
void accumulate(CollectedOutput& output, const sched::InferenceEvent& event);

// {"id": "video-<n>", "object": "video", "created", "model",
//  "frames": [{"index", "type", "b64_json"}], "finish_reason", "usage"}
boost::json::object video_response(const std::string& id, int64_t created,
                                   const std::string& model, const CollectedOutput& output);
// {"id": "inference-<n>", "object": "inference", "created", "model",
//  "output": {"text", "token_ids", "data": [{"type", "b64_json"}]},
//  "finish_reason", "usage"}
boost::json::object inference_response(const std::string& id, int64_t created,
                                       const std::string& model, const CollectedOutput& output);

// One streamed event of these endpoints: {"id", "object": "<kind>.chunk",
// "model", "text"?, "token_id"?, "data"? {"type", "b64_json"}, "final",
// "finish_reason"?, "usage"? (on the final event)}.
boost::json::object event_chunk(const std::string& id, const std::string& object_kind,
                                const std::string& model, const sched::InferenceEvent& event);

}  // namespace citadel::http
