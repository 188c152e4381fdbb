// /v1/videos and /inference <-> native input and events.
#include "host/http/task_translate.h"

#include "host/http/api_error.h"
#include "host/http/base64.h"
#include "host/http/openai_translate.h"
#include "host/http/request_fields.h"

namespace citadel::http {

namespace json = boost::json;

namespace {

json::value finish_value(sched::FinishReason reason) {
  const char* name = openai_finish_reason(reason);
  return *name ? json::value(name) : json::value(nullptr);
}

json::array data_json(const CollectedOutput& output) {
  json::array frames;
  for (size_t index = 0; index < output.data.size(); ++index)
    frames.push_back(json::object{{"index", index},
                                  {"type", output.data[index].type},
                                  {"b64_json", base64_encode(output.data[index].bytes)}});
  return frames;
}

json::object response_base(const std::string& id, const char* object, int64_t created,
                           const std::string& model) {
  return json::object{{"id", id}, {"object", object}, {"created", created}, {"model", model}};
}

}  // namespace

TaskRequest parse_video_request(std::string_view body_text) {
  json::object body = parse_json_object(body_text);
  TaskRequest request;
  request.model = optional_string(body, "model");
  required_string(body, "prompt");
  request.stream = optional_bool(body, "stream").value_or(false);
  body.erase("model");
  body.erase("stream");
  request.input_json = json::serialize(body);
  return request;
}

TaskRequest parse_inference_request(std::string_view body_text) {
  const json::object body = parse_json_object(body_text);
  TaskRequest request;
  request.model = required_string(body, "model");
  const json::value* input = body.if_contains("input");
  if (input == nullptr || input->is_null())
    throw bad_request("'input' is required", "input", "missing_field");
  if (!input->is_object())
    throw bad_request("'input' must be an object (the model's native input)", "input", "invalid_type");
  request.input_json = json::serialize(*input);
  if (std::optional<std::string> image = optional_string(body, "image"))
    request.payload = decode_base64_field(*image, "image");
  request.priority = static_cast<int>(optional_integer_in(body, "priority", -1000, 1000).value_or(0));
  request.stream = optional_bool(body, "stream").value_or(false);
  return request;
}

void accumulate(CollectedOutput& output, const sched::InferenceEvent& event) {
  output.text += event.text;
  if (event.token_id >= 0) output.token_ids.push_back(event.token_id);
  if (!event.data.empty()) output.data.push_back({event.data_type, event.data});
  if (event.final) {
    output.finish_reason = event.finish_reason;
    output.usage = event.usage;
  }
}

json::object video_response(const std::string& id, int64_t created, const std::string& model,
                            const CollectedOutput& output) {
  json::object response = response_base(id, "video", created, model);
  response["frames"] = data_json(output);
  response["finish_reason"] = finish_value(output.finish_reason);
  response["usage"] = usage_json(output.usage);
  return response;
}

json::object inference_response(const std::string& id, int64_t created, const std::string& model,
                                const CollectedOutput& output) {
  json::object response = response_base(id, "inference", created, model);
  json::array tokens;
  for (int32_t token : output.token_ids) tokens.emplace_back(token);
  response["output"] = json::object{
      {"text", output.text}, {"token_ids", std::move(tokens)}, {"data", data_json(output)}};
  response["finish_reason"] = finish_value(output.finish_reason);
  response["usage"] = usage_json(output.usage);
  return response;
}

json::object event_chunk(const std::string& id, const std::string& object_kind,
                         const std::string& model, const sched::InferenceEvent& event) {
  json::object chunk{{"id", id}, {"object", object_kind + ".chunk"}, {"model", model}};
  if (!event.text.empty()) chunk["text"] = event.text;
  if (event.token_id >= 0) chunk["token_id"] = event.token_id;
  if (!event.data.empty())
    chunk["data"] = json::object{{"type", event.data_type}, {"b64_json", base64_encode(event.data)}};
  chunk["final"] = event.final;
  if (event.final) {
    chunk["finish_reason"] = finish_value(event.finish_reason);
    chunk["usage"] = usage_json(event.usage);
  }
  return chunk;
}

}  // namespace citadel::http
