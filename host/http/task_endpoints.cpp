// POST /v1/ocr and /inference: one request each, answered as one
// response object or, with "stream": true, as SSE event chunks.
#include "host/http/endpoints.h"

#include "host/http/model_lookup.h"
#include "host/http/request_group.h"
#include "host/http/task_translate.h"

#include <boost/json.hpp>

#include <functional>

namespace citadel::http {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

using ResponseBuilder = std::function<json::object(const std::string& id, int64_t created,
                                                   const std::string& model,
                                                   const CollectedOutput& output)>;

struct TaskKind {
  const char* object;  // "ocr", "video", "inference": id prefix and object name
  ResponseBuilder build_response;
};

const TaskKind kOcrTask{"ocr", ocr_response};
const TaskKind kInferenceTask{"inference", inference_response};

net::awaitable<void> serve_task(Exchange& exchange, const std::string& model, TaskRequest task,
                                const TaskKind& kind) {
  exchange.authorize_model(model);
  ServerContext& server = exchange.server();
  sched::InferenceRequest submission;
  submission.model = model;
  submission.input_json = std::move(task.input_json);
  submission.payload = std::move(task.payload);
  submission.priority = task.priority;
  std::vector<sched::InferenceRequest> submissions;
  submissions.push_back(std::move(submission));
  auto group = std::make_shared<RequestGroup>(exchange.executor(), server.gate);
  if (std::optional<sched::Rejection> rejection = group->submit_all(server.router, std::move(submissions)))
    throw from_rejection(*rejection, model);
  std::weak_ptr<RequestGroup> weak_group = group;
  exchange.watch_client([weak_group] {
    if (auto alive = weak_group.lock()) alive->cancel_all();
  });
  const std::string id = std::string(kind.object) + "-" + std::to_string(server.take_response_id());
  const int64_t created = unix_time_now();

  if (task.stream) {
    SseWriter* writer = co_await exchange.open_stream();
    if (writer == nullptr) group->cancel_all();
    while (std::optional<GroupEvent> item = co_await group->next()) {
      if (writer == nullptr || writer->failed()) continue;
      if (item->event.final && item->event.finish_reason == sched::FinishReason::error)
        co_await writer->send(from_failed_event(item->event).error_body());
      const bool sent =
          co_await writer->send(json::serialize(event_chunk(id, kind.object, model, item->event)));
      if (!sent) group->cancel_all();
    }
    if (writer != nullptr && !writer->failed()) co_await writer->finish();
    co_return;
  }

  CollectedOutput output;
  std::optional<ApiError> failure;
  while (std::optional<GroupEvent> item = co_await group->next()) {
    accumulate(output, item->event);
    const sched::FinishReason reason = item->event.finish_reason;
    if (item->event.final &&
        (reason == sched::FinishReason::error || reason == sched::FinishReason::cancelled))
      failure = from_failed_event(item->event);
  }
  if (exchange.client_gone()) co_return;
  if (failure) throw *failure;
  co_await exchange.respond_json(200, kind.build_response(id, created, model, output));
}

}  // namespace

net::awaitable<void> handle_ocr(Exchange& exchange) {
  ServerContext& server = exchange.server();
  TaskRequest task = parse_ocr_request(exchange.request().body(), server.settings.max_tokens_limit);
  const std::string model =
      choose_model_for_task(server.router.list_models(), task.model, "image_to_text", "/v1/ocr");
  co_await serve_task(exchange, model, std::move(task), kOcrTask);
}

net::awaitable<void> handle_inference(Exchange& exchange) {
  ServerContext& server = exchange.server();
  TaskRequest task = parse_inference_request(exchange.request().body());
  const std::string model = *task.model;
  if (!find_model(server.router.list_models(), model)) throw model_not_found(model);
  co_await serve_task(exchange, model, std::move(task), kInferenceTask);
}

}  // namespace citadel::http
