// POST /v1/chat/completions for a model of task image_to_text: the image
// of the messages read and checked as /v1/ocr reads an image, one
// scheduler request, answered as a chat.completion (or its chunks) whose
// content is the model's text; with "grounding": true the message (or each
// chunk's delta) also carries "boxes".
#include "host/http/endpoints.h"

#include "host/http/grounding_parser.h"
#include "host/http/image_chat_translate.h"
#include "host/http/model_lookup.h"
#include "host/http/ocr_submission.h"
#include "host/http/openai_translate.h"

#include <boost/json.hpp>

namespace citadel::http {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

json::array boxes_json(const std::vector<GroundingBox>& boxes) {
  json::array list;
  for (const GroundingBox& box : boxes) list.push_back(grounding_box_json(box));
  return list;
}

net::awaitable<void> answer_whole(Exchange& exchange, RequestGroup& group, const CompletionRequest& shape,
                                  const ResponseIdentity& identity, const OcrPage& page, bool grounding) {
  std::vector<ChoiceOutcome> outcomes(1);
  std::optional<ApiError> failure;
  while (std::optional<GroupEvent> item = co_await group.next()) {
    outcomes[0].text += item->event.text;
    if (!item->event.final) continue;
    outcomes[0].finish_reason = item->event.finish_reason;
    outcomes[0].usage = item->event.usage;
    if (item->event.finish_reason == sched::FinishReason::error ||
        item->event.finish_reason == sched::FinishReason::cancelled)
      failure = from_failed_event(item->event);
  }
  if (exchange.client_gone()) co_return;
  if (failure) throw *failure;
  json::object response = completion_response(shape, identity, outcomes);
  if (grounding)
    response.at("choices").as_array().at(0).as_object().at("message").as_object()["boxes"] =
        boxes_json(parse_grounding(outcomes[0].text, page.width, page.height));
  co_await exchange.respond_json(200, response);
}

net::awaitable<void> answer_stream(Exchange& exchange, RequestGroup& group, const CompletionRequest& shape,
                                   const ResponseIdentity& identity, const OcrPage& page, bool grounding) {
  SseWriter* writer = co_await exchange.open_stream();
  if (writer == nullptr) group.cancel_all();
  GroundingScanner scanner(page.width, page.height);
  sched::Usage usage;
  bool first = true;
  while (std::optional<GroupEvent> item = co_await group.next()) {
    const sched::InferenceEvent& event = item->event;
    std::vector<std::string> chunks;
    if (first) chunks.push_back(json::serialize(stream_role_chunk(shape, identity, 0)));
    first = false;
    const std::vector<GroundingBox> boxes = grounding ? scanner.push(event.text) : std::vector<GroundingBox>{};
    if (!event.text.empty() || !boxes.empty()) {
      json::object chunk = stream_text_chunk(shape, identity, 0, event.text);
      if (!boxes.empty())
        chunk.at("choices").as_array().at(0).as_object().at("delta").as_object()["boxes"] = boxes_json(boxes);
      chunks.push_back(json::serialize(chunk));
    }
    if (event.final) {
      usage = event.usage;
      if (event.finish_reason == sched::FinishReason::error) chunks.push_back(from_failed_event(event).error_body());
      chunks.push_back(json::serialize(stream_final_chunk(shape, identity, 0, event.finish_reason)));
    }
    for (const std::string& chunk : chunks) {
      if (writer == nullptr || writer->failed()) break;
      const bool sent = co_await writer->send(chunk);
      if (!sent) group.cancel_all();
    }
  }
  if (writer == nullptr || writer->failed()) co_return;
  if (shape.include_usage) co_await writer->send(json::serialize(stream_usage_chunk(shape, identity, usage)));
  co_await writer->finish();
}

}  // namespace

bool is_image_chat(Exchange& exchange) {
  const std::optional<std::string> model = chat_body_model(exchange.request().body());
  if (!model) return false;
  const std::optional<sched::ModelListing> listing = find_model(exchange.server().router.list_models(), *model);
  return listing && listing->task == "image_to_text";
}

net::awaitable<void> handle_image_chat(Exchange& exchange) {
  ServerContext& server = exchange.server();
  ImageChatRequest request = parse_image_chat_request(exchange.request().body(), server.settings.max_tokens_limit);
  exchange.authorize_model(request.model);
  const std::vector<sched::ModelListing> models = server.router.list_models();
  require_task(models, request.model, {"image_to_text"}, "/v1/chat/completions");
  const config::InputLimits limits = find_model(models, request.model)->inputs;
  std::vector<OcrPage> pages = co_await read_pages_off_io_thread(std::move(request.image), request.image_field,
                                                                 request.options, limits, false);
  const OcrPage page{pages.at(0).number, pages.at(0).width, pages.at(0).height, pages.at(0).dpi, {}};
  std::shared_ptr<RequestGroup> group = submit_pages(exchange, request.model, pages, ocr_native_input(request.options));
  CompletionRequest shape;  // the response's shape: one chat choice
  shape.api = CompletionApi::chat;
  shape.model = request.model;
  shape.stream = request.options.stream;
  shape.include_usage = request.include_usage;
  const ResponseIdentity identity{response_id(CompletionApi::chat, server.take_response_id()), unix_time_now()};
  if (request.options.stream)
    co_await answer_stream(exchange, *group, shape, identity, page, request.options.grounding);
  else
    co_await answer_whole(exchange, *group, shape, identity, page, request.options.grounding);
}

}  // namespace citadel::http
