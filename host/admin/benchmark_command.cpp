#include "host/admin/benchmark_command.h"

#include "host/admin/admin_protocol.h"
#include "host/admin/admin_server.h"
#include "host/core/host.h"
#include "host/loadgen/benchmark_request.h"
#include "host/loadgen/load_generator.h"

#include <boost/json.hpp>

#include <thread>

namespace citadel::admin {
namespace {

using boost::json::object;

loadgen::BenchmarkOptions parse_options(const object& request, core::Host& host) {
  loadgen::BenchmarkOptions options;
  try {
    options = loadgen::benchmark_options_from_json(request);
  } catch (const std::invalid_argument& error) {
    throw AdminCommandError(error_code::bad_request, error.what());
  }
  options.port = host.http_port();
  if (options.port == 0) {
    throw AdminCommandError(error_code::failed, "benchmark: the HTTP server is not running");
  }
  for (const std::string& model : options.models) {
    if (!host.router().scheduler(model)) {
      throw AdminCommandError(error_code::not_found, "models: no model named " + model);
    }
  }
  if (const boost::json::value* key = request.if_contains("api_key")) {
    if (!key->is_string()) throw AdminCommandError(error_code::bad_request, "api_key: must be a string");
    options.api_key = std::string(key->as_string());
  }
  return options;
}

}  // namespace

void register_benchmark_command(AdminServer& server, core::Host& host) {
  server.add_command(
      "benchmark",
      "throughput benchmark over this host's HTTP server: {\"cmd\":\"benchmark\",\"models\":[NAME],"
      "\"num_prompts\":N,\"request_rate\":R (0: offline),\"seed\":S,\"api_key\":K (when http.api_keys is set)}",
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
