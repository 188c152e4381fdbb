// ServerContext: shared state of one HttpServer and its request counters.
#include "host/http/server_context.h"

#include <chrono>

namespace citadel::http {

ServerContext::ServerContext(const config::HttpSettings& settings_in, sched::RequestRouter& router_in,
                             metrics::Registry& metrics_in)
    : settings(settings_in), router(router_in), metrics(metrics_in) {}

int64_t unix_time_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ServerContext::count_response(const std::string& route, unsigned status, double seconds) {
  metrics
      .counter("citadel_http_requests_total", "HTTP requests answered, by route and status",
               {{"route", route}, {"status", std::to_string(status)}})
      .add(1.0);
  if (seconds > 0.0)
    metrics
        .histogram("citadel_http_request_duration_seconds",
                   "Time from a request's header to the end of its response",
                   metrics::latency_buckets(), {{"route", route}})
        .observe(seconds);
}

}  // namespace citadel::http
