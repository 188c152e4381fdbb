// Document reading off the io threads; page submission.
#include "host/http/ocr_submission.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace citadel::http {

namespace net = boost::asio;

namespace {

// Two threads: PDF rendering of two requests at once on the two cores the
// io threads leave. Lives until the process exits.
net::thread_pool& document_pool() {
  static net::thread_pool pool(2);
  return pool;
}

}  // namespace

net::awaitable<std::vector<OcrPage>> read_pages_off_io_thread(std::vector<uint8_t> document, std::string field,
                                                              OcrOptions options, config::InputLimits limits,
                                                              bool allow_pdf) {
  auto read = [document = std::move(document), field = std::move(field), options = std::move(options), limits,
               allow_pdf]() mutable -> net::awaitable<std::vector<OcrPage>> {
    co_return prepare_ocr_pages(std::move(document), field, options, limits, allow_pdf);
  };
  std::vector<OcrPage> pages = co_await net::co_spawn(document_pool(), std::move(read), net::use_awaitable);
  co_return pages;
}

std::shared_ptr<RequestGroup> submit_pages(Exchange& exchange, const std::string& model, std::vector<OcrPage>& pages,
                                           const std::string& input_json) {
  ServerContext& server = exchange.server();
  std::vector<sched::InferenceRequest> submissions;
  for (OcrPage& page : pages) {
    sched::InferenceRequest submission;
    submission.model = model;
    submission.input_json = input_json;
    submission.payload = std::move(page.payload);
    submissions.push_back(std::move(submission));
  }
  auto group = std::make_shared<RequestGroup>(exchange.executor(), server.gate);
  if (std::optional<sched::Rejection> rejection = group->submit_all(server.router, std::move(submissions)))
    throw from_rejection(*rejection, model);
  std::weak_ptr<RequestGroup> weak_group = group;
  exchange.watch_client([weak_group] {
    if (auto alive = weak_group.lock()) alive->cancel_all();
  });
  return group;
}

}  // namespace citadel::http
