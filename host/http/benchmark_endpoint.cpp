// POST /benchmark: the load generator of `citadelctl benchmark` (host/loadgen)
// run against this server, for API keys with scope=admin. Without API keys
// configured the route answers 404 (an open server never exposes a load
// generator); with keys, a key without scope=admin gets 403. One run at a
// time (409 while one runs). The run happens on its own thread with the
// caller's own key (so its rate limit applies); the reply is the report.
#include "host/http/endpoints.h"

#include "host/http/model_lookup.h"
#include "host/loadgen/benchmark_request.h"
#include "host/loadgen/load_generator.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

namespace citadel::http {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

constexpr uint32_t kMaxPrompts = 10000;

// What the benchmark thread hands back to the waiting exchange.
struct BenchmarkRun {
  explicit BenchmarkRun(const net::any_io_executor& executor) : done(executor) {}
  net::steady_timer done;  // cancelled when the report (or error) is in
  std::optional<loadgen::BenchmarkReport> report;
  std::string error;
};

loadgen::BenchmarkOptions parse_request(Exchange& exchange) {
  json::value body;
  try {
    body = json::parse(exchange.request().body());
  } catch (const std::exception& error) {
    throw bad_request(std::string("The body is not JSON: ") + error.what(), {}, "invalid_json");
  }
  if (!body.is_object()) throw bad_request("The body must be a JSON object", {}, "invalid_json");
  loadgen::BenchmarkOptions options;
  try {
    options = loadgen::benchmark_options_from_json(body.as_object());
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    throw bad_request(message, message.substr(0, message.find(':')), "invalid_value");
  }
  if (options.dataset.num_prompts == 0 || options.dataset.num_prompts > kMaxPrompts)
    throw bad_request("num_prompts: must be 1 to " + std::to_string(kMaxPrompts), "num_prompts",
                      "invalid_value");
  const std::vector<sched::ModelListing> models = exchange.server().router.list_models();
  for (const std::string& model : options.models) {
    exchange.authorize_model(model);
    if (!find_model(models, model)) throw model_not_found(model);
  }
  options.host = "127.0.0.1";
  options.port = exchange.server().port;
  options.api_key = std::string(
      bearer_token(exchange.request()[boost::beast::http::field::authorization]));
  return options;
}

}  // namespace

net::awaitable<void> handle_benchmark(Exchange& exchange) {
  ServerContext& server = exchange.server();
  const std::string path = "/benchmark";
  if (!server.keys.enabled()) throw route_not_found(path);
  const ApiCaller* caller = exchange.caller();
  if (caller == nullptr || !caller->admin) {
    server.keys.count_refusal("insufficient_scope");
    throw admin_scope_required(path);
  }
  loadgen::BenchmarkOptions options = parse_request(exchange);
  if (server.benchmark_running->exchange(true))
    throw ApiError(409, "invalid_request_error", "A benchmark is already running", {},
                   "benchmark_running");
  spdlog::info("http: POST /benchmark by API key {}: {} prompt(s)", caller->key_id,
               options.dataset.num_prompts);
  auto run = std::make_shared<BenchmarkRun>(exchange.executor());
  run->done.expires_at(net::steady_timer::time_point::max());
  // The thread holds neither the run (its timer) nor an executor: it may end
  // after the server's io_context is gone. Both are touched only while the
  // gate is open (see PostGate).
  std::thread([options, weak_run = std::weak_ptr<BenchmarkRun>(run), gate = server.gate,
               running = server.benchmark_running] {
    std::optional<loadgen::BenchmarkReport> report;
    std::string error;
    try {
      report = loadgen::run_benchmark(options);
    } catch (const std::exception& failure) {
      error = failure.what();
    }
    running->store(false);
    gate->run_if_open([&] {
      std::shared_ptr<BenchmarkRun> run = weak_run.lock();
      if (!run) return;
      net::post(run->done.get_executor(), [run, report = std::move(report), error = std::move(error)]() mutable {
        run->report = std::move(report);
        run->error = std::move(error);
        run->done.cancel();
      });
    });
  }).detach();
  co_await run->done.async_wait(net::as_tuple(net::use_awaitable));
  if (!run->report) throw internal_error("benchmark: " + run->error, "benchmark_failed");
  co_await exchange.respond_json(200, json::parse(loadgen::report_json(*run->report)));
}

}  // namespace citadel::http
