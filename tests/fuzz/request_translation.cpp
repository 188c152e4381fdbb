// Runs the host's request translators on a body and checks what they build.
#include "request_translation.hpp"

#include "host/http/api_error.h"
#include "host/http/ocr_request.h"
#include "host/http/ocr_response.h"
#include "host/http/openai_translate.h"
#include "host/http/task_translate.h"

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace citadel::fuzz {

namespace json = boost::json;
using namespace citadel::http;

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "request translation finding: %s\n", what.c_str());
  std::abort();
}

// Serializes `object` and parses it back: the host sends this text.
void check_round_trip(const json::object& object, const char* what) {
  boost::system::error_code error;
  const json::value back = json::parse(json::serialize(object), error);
  if (error || !back.is_object()) finding(std::string(what) + " does not parse back as an object");
}

void check_native_input(const std::string& text, const char* what) {
  boost::system::error_code error;
  const json::value value = json::parse(text, error);
  if (error || !value.is_object()) finding(std::string(what) + ": native input is not a JSON object: " + text);
}

void check_completion(const CompletionRequest& request) {
  const uint32_t choices = request.choice_count();
  if (choices == 0) finding("an accepted request has no choices");
  std::vector<ChoiceOutcome> outcomes(choices);
  for (uint32_t index = 0; index < choices; ++index) {
    check_native_input(native_input(request, index), "completion");
    outcomes[index].text = "text";
    outcomes[index].finish_reason = sched::FinishReason::length;
    outcomes[index].usage = {3, 2, 1};
  }
  const ResponseIdentity identity{response_id(request.api, 7), 1700000000};
  check_round_trip(completion_response(request, identity, outcomes), "completion_response");
  check_round_trip(stream_role_chunk(request, identity, 0), "stream_role_chunk");
  check_round_trip(stream_text_chunk(request, identity, 0, "piece"), "stream_text_chunk");
  check_round_trip(stream_final_chunk(request, identity, 0, sched::FinishReason::stop), "stream_final_chunk");
  check_round_trip(stream_usage_chunk(request, identity, total_usage(request, outcomes)),
                   "stream_usage_chunk");
}

void check_task(const TaskRequest& request, const char* object_kind) {
  check_native_input(request.input_json, object_kind);
  CollectedOutput output;
  sched::InferenceEvent event;
  event.text = "text";
  event.token_id = 5;
  event.data = {1, 2, 3};
  event.data_type = "image/png";
  accumulate(output, event);
  event.final = true;
  event.finish_reason = sched::FinishReason::stop;
  accumulate(output, event);
  const std::string model = request.model.value_or("m");
  check_round_trip(video_response("video-1", 1, model, output), "video_response");
  check_round_trip(inference_response("inference-1", 1, model, output), "inference_response");
  check_round_trip(event_chunk("x-1", object_kind, model, event), "event_chunk");
}

void check_ocr(const OcrRequest& request) {
  check_native_input(ocr_native_input(request.options), "ocr");
  OcrPageOutcome page{1, 640, 480, 0, "<|ref|>a<|/ref|><|det|>[[1,2,3,4]]<|/det|>"};
  page.boxes = parse_grounding(page.text, page.width, page.height);
  if (page.boxes.size() != 1) finding("the grounding span of the OCR check gave no box");
  check_round_trip(ocr_document_response("ocr-1", 1, request.model.value_or("m"), {page}, true), "ocr_response");
}

}  // namespace

std::optional<Endpoint> endpoint_of_route(std::string_view route) {
  if (route == "/v1/completions") return Endpoint::completions;
  if (route == "/v1/chat/completions") return Endpoint::chat;
  if (route == "/v1/ocr") return Endpoint::ocr;
  if (route == "/v1/videos") return Endpoint::videos;
  if (route == "/inference") return Endpoint::inference;
  return std::nullopt;
}

void translate_request(Endpoint endpoint, std::string_view body) {
  const TranslateLimits limits{.max_tokens_limit = 512, .max_choices = 16};
  try {
    switch (endpoint) {
      case Endpoint::completions: check_completion(parse_completion_request(body, limits)); break;
      case Endpoint::chat: check_completion(parse_chat_request(body, limits)); break;
      case Endpoint::ocr: check_ocr(parse_ocr_json(body, limits.max_tokens_limit)); break;
      case Endpoint::videos: check_task(parse_video_request(body), "video"); break;
      case Endpoint::inference: check_task(parse_inference_request(body), "inference"); break;
    }
  } catch (const ApiError& error) {
    if (error.status() != 400) finding("status " + std::to_string(error.status()) + ": " + error.what());
    check_round_trip(json::parse(error.error_body()).as_object(), "error_body");
  }
}

}  // namespace citadel::fuzz
