// The load generator: dispatch (all at once, or Poisson arrivals), collect
// outcomes, summarize.
#include "host/loadgen/load_generator.h"

#include "host/loadgen/bench_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>

namespace citadel::loadgen {

namespace net = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

LatencySummary summarize(std::vector<double> seconds) {
  LatencySummary summary;
  if (seconds.empty()) return summary;
  std::sort(seconds.begin(), seconds.end());
  auto rank = [&](double fraction) {
    const size_t index = static_cast<size_t>(std::ceil(fraction * seconds.size())) - 1;
    return seconds[std::min(index, seconds.size() - 1)] * 1000.0;
  };
  summary.mean_ms = std::accumulate(seconds.begin(), seconds.end(), 0.0) / seconds.size() * 1000.0;
  summary.p50_ms = rank(0.50);
  summary.p99_ms = rank(0.99);
  return summary;
}

// Dispatches every request; state shared with the request coroutines.
struct Dispatcher {
  Dispatcher(net::io_context& io, const BenchmarkOptions& options_in, std::vector<BenchRequest> dataset_in)
      : strand(net::make_strand(io)), arrival(strand), slot_freed(strand), options(options_in), dataset(std::move(dataset_in)),
        outcomes(dataset.size()), random(options.dataset.seed ^ 0x9E3779B97F4A7C15ull) {}

  net::awaitable<void> run_one(size_t index) {
    // Named arguments, no braced temporaries: GCC 12 mis-destroys braced
    // temporaries passed by value to a coroutine.
    ServerAddress server;
    server.host = options.host;
    server.port = options.port;
    server.api_key = options.api_key;
    std::string model = options.models[index % options.models.size()];
    RequestOutcome outcome =
        co_await send_completion(server, std::move(model), dataset[index], options.request_rate > 0);
    outcomes[index] = std::move(outcome);
    finished_at = Clock::now();
    net::post(strand, [this] {
      --in_flight;
      slot_freed.cancel();
    });
  }

  net::awaitable<void> dispatch() {
    std::exponential_distribution<double> gap(options.request_rate > 0 ? options.request_rate : 1.0);
    for (size_t index = 0; index < dataset.size(); ++index) {
      if (options.request_rate > 0 && index > 0) {
        arrival.expires_after(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(gap(random))));
        co_await arrival.async_wait(net::as_tuple(net::use_awaitable));
      }
      while (options.max_concurrency > 0 && in_flight >= options.max_concurrency) {
        slot_freed.expires_at(Clock::time_point::max());
        co_await slot_freed.async_wait(net::as_tuple(net::use_awaitable));
      }
      ++in_flight;
      net::co_spawn(net::make_strand(strand.get_inner_executor()), run_one(index), net::detached);
    }
  }

  net::strand<net::io_context::executor_type> strand;
  net::steady_timer arrival;     // Poisson gaps
  net::steady_timer slot_freed;  // cancelled when a request finishes
  const BenchmarkOptions& options;
  std::vector<BenchRequest> dataset;
  std::vector<RequestOutcome> outcomes;
  std::mt19937_64 random;
  uint32_t in_flight = 0;  // on the strand
  std::atomic<Clock::time_point> finished_at{Clock::now()};
};

std::string fixed(double value, int decimals = 2) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace

BenchmarkReport run_benchmark(const BenchmarkOptions& options) {
  if (options.models.empty()) throw std::invalid_argument("benchmark: name at least one model");
  net::io_context io;
  Dispatcher dispatcher(io, options, make_dataset(options.dataset));
  const Clock::time_point started = Clock::now();
  net::co_spawn(dispatcher.strand, dispatcher.dispatch(), net::detached);
  std::vector<std::thread> threads;
  for (uint32_t index = 1; index < std::max<uint32_t>(options.io_threads, 1); ++index)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& thread : threads) thread.join();

  BenchmarkReport report;
  report.online = options.request_rate > 0;
  report.request_rate = options.request_rate;
  report.duration_s = std::chrono::duration<double>(dispatcher.finished_at.load() - started).count();
  std::vector<double> ttfts, tpots, gaps, latencies;
  for (const RequestOutcome& outcome : dispatcher.outcomes) {
    ModelFigures& figures = report.per_model[outcome.model];
    if (!outcome.success) {
      ++report.failed;
      ++figures.failed;
      if (report.first_errors.size() < 5) report.first_errors.push_back(outcome.error);
      continue;
    }
    ++report.completed;
    ++figures.completed;
    report.prompt_tokens += outcome.prompt_tokens;
    report.output_tokens += outcome.completion_tokens;
    figures.prompt_tokens += outcome.prompt_tokens;
    figures.output_tokens += outcome.completion_tokens;
    latencies.push_back(outcome.latency_s);
    if (report.online) {
      ttfts.push_back(outcome.ttft_s);
      if (outcome.completion_tokens > 1)
        tpots.push_back((outcome.latency_s - outcome.ttft_s) / (outcome.completion_tokens - 1));
      gaps.insert(gaps.end(), outcome.gaps_s.begin(), outcome.gaps_s.end());
    }
  }
  if (report.duration_s > 0) {
    report.requests_per_s = report.completed / report.duration_s;
    report.total_tokens_per_s = (report.prompt_tokens + report.output_tokens) / report.duration_s;
    report.output_tokens_per_s = report.output_tokens / report.duration_s;
  }
  report.ttft = summarize(ttfts);
  report.tpot = summarize(tpots);
  report.itl = summarize(gaps);
  report.latency = summarize(latencies);
  return report;
}

std::string format_report(const BenchmarkReport& report) {
  std::string text = "Throughput: " + fixed(report.requests_per_s) + " requests/s, " +
                     fixed(report.total_tokens_per_s) + " total tokens/s, " +
                     fixed(report.output_tokens_per_s) + " output tokens/s\n";
  text += "Mode: " + std::string(report.online ? "online at " + fixed(report.request_rate) + " requests/s (Poisson)"
                                               : "offline (all requests at once)") + "\n";
  text += "Requests: " + std::to_string(report.completed) + " completed, " +
          std::to_string(report.failed) + " failed in " + fixed(report.duration_s, 3) + " s\n";
  text += "Tokens: " + std::to_string(report.prompt_tokens) + " prompt, " +
          std::to_string(report.output_tokens) + " output\n";
  if (report.online) {
    text += "TTFT: p50 " + fixed(report.ttft.p50_ms) + " ms, p99 " + fixed(report.ttft.p99_ms) +
            " ms (mean " + fixed(report.ttft.mean_ms) + " ms)\n";
    text += "TPOT: p50 " + fixed(report.tpot.p50_ms) + " ms, p99 " + fixed(report.tpot.p99_ms) +
            " ms (mean " + fixed(report.tpot.mean_ms) + " ms)\n";
    text += "ITL: p50 " + fixed(report.itl.p50_ms) + " ms, p99 " + fixed(report.itl.p99_ms) + " ms\n";
  }
  text += "Latency: p50 " + fixed(report.latency.p50_ms) + " ms, p99 " + fixed(report.latency.p99_ms) + " ms\n";
  if (report.per_model.size() > 1) {
    for (const auto& [model, figures] : report.per_model) {
      text += "  model " + model + ": " + std::to_string(figures.completed) + " completed, " +
              std::to_string(figures.failed) + " failed, " + std::to_string(figures.output_tokens) +
              " output tokens, " +
              fixed(report.duration_s > 0 ? figures.output_tokens / report.duration_s : 0) +
              " output tokens/s\n";
    }
  }
  for (const std::string& error : report.first_errors) text += "  error: " + error + "\n";
  return text;
}

std::string report_json(const BenchmarkReport& report) {
  auto latency = [](const LatencySummary& summary) {
    json::object object;
    object["mean_ms"] = summary.mean_ms;
    object["p50_ms"] = summary.p50_ms;
    object["p99_ms"] = summary.p99_ms;
    return object;
  };
  json::object object;
  object["mode"] = report.online ? "online" : "offline";
  object["request_rate"] = report.request_rate;
  object["duration_s"] = report.duration_s;
  object["completed"] = report.completed;
  object["failed"] = report.failed;
  object["prompt_tokens"] = report.prompt_tokens;
  object["output_tokens"] = report.output_tokens;
  object["requests_per_s"] = report.requests_per_s;
  object["total_tokens_per_s"] = report.total_tokens_per_s;
  object["output_tokens_per_s"] = report.output_tokens_per_s;
  object["latency"] = latency(report.latency);
  if (report.online) {
    object["ttft"] = latency(report.ttft);
    object["tpot"] = latency(report.tpot);
    object["itl"] = latency(report.itl);
  }
  json::object models;
  for (const auto& [model, figures] : report.per_model) {
    json::object entry;
    entry["completed"] = figures.completed;
    entry["failed"] = figures.failed;
    entry["prompt_tokens"] = figures.prompt_tokens;
    entry["output_tokens"] = figures.output_tokens;
    models[model] = std::move(entry);
  }
  object["per_model"] = std::move(models);
  json::array errors;
  for (const std::string& error : report.first_errors) errors.emplace_back(error);
  object["errors"] = std::move(errors);
  return json::serialize(object);
}

}  // namespace citadel::loadgen
