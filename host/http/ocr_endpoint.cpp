// POST /v1/ocr: an image or a PDF (JSON with base64, or a multipart upload)
// read into pages, one scheduler request per page, answered as one document
// object or streamed page by page: the pages run in parallel (the scheduler
// batches them) but their chunks are sent in page order, a later page's
// chunks held until every earlier page has finished.
#include "host/http/endpoints.h"

#include "host/http/model_lookup.h"
#include "host/http/multipart_form.h"
#include "host/http/ocr_response.h"
#include "host/http/ocr_submission.h"

#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>

#include <deque>

namespace citadel::http {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

// One page's outcome as its events arrive, with its grounding scanner.
struct PageProgress {
  OcrPageOutcome outcome;
  GroundingScanner scanner;
  std::deque<std::string> held;  // stream chunks not yet sent (a page before it is unfinished)
  bool finished = false;
};

std::vector<PageProgress> start_progress(const std::vector<OcrPage>& pages) {
  std::vector<PageProgress> progress;
  for (const OcrPage& page : pages)
    progress.push_back(PageProgress{OcrPageOutcome{page.number, page.width, page.height, page.dpi},
                                    GroundingScanner(page.width, page.height), {}, false});
  return progress;
}

// Folds one event into its page; returns the boxes it completed.
std::vector<GroundingBox> record(PageProgress& page, const sched::InferenceEvent& event, bool grounding) {
  page.outcome.text += event.text;
  std::vector<GroundingBox> boxes;
  if (grounding) boxes = page.scanner.push(event.text);
  page.outcome.boxes.insert(page.outcome.boxes.end(), boxes.begin(), boxes.end());
  if (event.final) {
    page.finished = true;
    page.outcome.finish_reason = event.finish_reason;
    page.outcome.usage = event.usage;
  }
  return boxes;
}

bool failed(const sched::InferenceEvent& event) {
  return event.final && (event.finish_reason == sched::FinishReason::error ||
                         event.finish_reason == sched::FinishReason::cancelled);
}

std::vector<OcrPageOutcome> outcomes_of(const std::vector<PageProgress>& progress) {
  std::vector<OcrPageOutcome> outcomes;
  for (const PageProgress& page : progress) outcomes.push_back(page.outcome);
  return outcomes;
}

net::awaitable<void> answer_whole(Exchange& exchange, RequestGroup& group, std::vector<PageProgress>& progress,
                                  const std::string& model, bool grounding) {
  std::optional<ApiError> failure;
  while (std::optional<GroupEvent> item = co_await group.next()) {
    record(progress.at(item->index), item->event, grounding);
    if (failed(item->event) && !failure && !exchange.client_gone()) {
      failure = from_failed_event(item->event);
      group.cancel_all();
    }
  }
  if (exchange.client_gone()) co_return;
  if (failure) throw *failure;
  const std::string id = "ocr-" + std::to_string(exchange.server().take_response_id());
  co_await exchange.respond_json(200, ocr_document_response(id, unix_time_now(), model, outcomes_of(progress),
                                                            grounding));
}

net::awaitable<void> answer_stream(Exchange& exchange, RequestGroup& group, std::vector<PageProgress>& progress,
                                   const std::string& model, bool grounding) {
  const std::string id = "ocr-" + std::to_string(exchange.server().take_response_id());
  SseWriter* writer = co_await exchange.open_stream();
  if (writer == nullptr) group.cancel_all();
  size_t current = 0;  // the first page not yet finished and fully sent
  while (std::optional<GroupEvent> item = co_await group.next()) {
    PageProgress& page = progress.at(item->index);
    const std::vector<GroundingBox> boxes = record(page, item->event, grounding);
    if (failed(item->event) && item->event.finish_reason == sched::FinishReason::error)
      page.held.push_back(from_failed_event(item->event).error_body());
    page.held.push_back(json::serialize(ocr_page_chunk(id, model, page.outcome.number, item->event, &boxes)));
    while (current < progress.size()) {
      PageProgress& next = progress[current];
      while (!next.held.empty()) {
        const std::string chunk = std::move(next.held.front());
        next.held.pop_front();
        if (writer == nullptr || writer->failed()) continue;
        const bool sent = co_await writer->send(chunk);
        if (!sent) group.cancel_all();
      }
      if (!next.finished) break;
      ++current;
    }
  }
  if (writer == nullptr || writer->failed()) co_return;
  co_await writer->send(json::serialize(ocr_done_chunk(id, model, outcomes_of(progress))));
  co_await writer->finish();
}

}  // namespace

net::awaitable<void> handle_ocr(Exchange& exchange) {
  ServerContext& server = exchange.server();
  const HttpRequest& http_request = exchange.request();
  const std::string content_type(http_request[boost::beast::http::field::content_type]);
  OcrRequest request =
      is_multipart_form(content_type)
          ? parse_ocr_multipart(http_request.body(), content_type, server.settings.max_tokens_limit)
          : parse_ocr_json(http_request.body(), server.settings.max_tokens_limit);
  const std::vector<sched::ModelListing> models = server.router.list_models();
  const std::string model = choose_model_for_task(models, request.model, "image_to_text", "/v1/ocr");
  exchange.authorize_model(model);
  const config::InputLimits limits = find_model(models, model)->inputs;
  std::vector<OcrPage> pages = co_await read_pages_off_io_thread(
      std::move(request.document), request.document_field, request.options, limits, true);
  std::vector<PageProgress> progress = start_progress(pages);
  std::shared_ptr<RequestGroup> group = submit_pages(exchange, model, pages, ocr_native_input(request.options));
  if (request.options.stream)
    co_await answer_stream(exchange, *group, progress, model, request.options.grounding);
  else
    co_await answer_whole(exchange, *group, progress, model, request.options.grounding);
}

}  // namespace citadel::http
