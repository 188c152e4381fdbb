#include "host/admin/benchmark_command.h"

#include "host/admin/admin_protocol.h"
#include "host/admin/admin_server.h"
#include "host/core/host.h"
#include "host/loadgen/load_generator.h"

#include <boost/json.hpp>

#include <thread>

namespace citadel::admin {
namespace {

using boost::json::object;

// Reads an optional non-negative number argument.
double number_argument(const object& request, const char* key, double fallback) {
  const boost::json::value* value = request.if_contains(key);
  if (value == nullptr) return fallback;
  if (!value->is_number() || value->to_number<double>() < 0) {
    throw AdminCommandError(error_code::bad_request,
                            std::string(key) + ": must be a non-negative number");
  }
  return value->to_number<double>();
}

loadgen::BenchmarkOptions parse_options(const object& request, core::Host& host) {
  loadgen::BenchmarkOptions options;
  options.port = host.http_port();
  if (options.port == 0) {
    throw AdminCommandError(error_code::failed, "benchmark: the HTTP server is not running");
  }
  const boost::json::value* models = request.if_contains("models");
  if (models == nullptr) models = request.if_contains("model");
  if (models != nullptr && models->is_string()) {
    options.models.emplace_back(models->as_string());
  } else if (models != nullptr && models->is_array()) {
    for (const boost::json::value& model : models->as_array()) {
      if (!model.is_string()) {
        throw AdminCommandError(error_code::bad_request, "models: must be a list of names");
      }
      options.models.emplace_back(model.as_string());
    }
  }
  if (options.models.empty()) {
    throw AdminCommandError(error_code::bad_request, "models: name at least one model");
  }
  for (const std::string& model : options.models) {
    if (!host.router().scheduler(model)) {
      throw AdminCommandError(error_code::not_found, "models: no model named " + model);
    }
  }
  options.dataset.num_prompts =
      static_cast<uint32_t>(number_argument(request, "num_prompts", options.dataset.num_prompts));
  options.dataset.seed = static_cast<uint64_t>(number_argument(request, "seed", 0));
  options.dataset.mean_input_tokens =
      number_argument(request, "mean_input_tokens", options.dataset.mean_input_tokens);
  options.dataset.mean_output_tokens =
      number_argument(request, "mean_output_tokens", options.dataset.mean_output_tokens);
  options.request_rate = number_argument(request, "request_rate", 0);
  options.max_concurrency = static_cast<uint32_t>(number_argument(request, "max_concurrency", 0));
  return options;
}

}  // namespace

void register_benchmark_command(AdminServer& server, core::Host& host) {
  server.add_command(
      "benchmark",
      "throughput benchmark over this host's HTTP server: {\"cmd\":\"benchmark\",\"models\":[NAME],"
      "\"num_prompts\":N,\"request_rate\":R (0: offline),\"seed\":S}",
      [&host](const object& request, std::shared_ptr<AdminReply> reply) {
        loadgen::BenchmarkOptions options = parse_options(request, host);
        std::thread([options, reply] {
          try {
            const loadgen::BenchmarkReport report = loadgen::run_benchmark(options);
            object line;
            line["benchmark"] = boost::json::parse(loadgen::report_json(report));
            line["summary"] = loadgen::format_report(report);
            reply->finish(std::move(line));
          } catch (const std::exception& e) {
            reply->fail(error_code::failed, std::string("benchmark: ") + e.what());
          }
        }).detach();
      });
}

}  // namespace citadel::admin
