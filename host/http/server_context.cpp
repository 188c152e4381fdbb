// ServerContext: shared state of one HttpServer and its request counters.
#include "host/http/server_context.h"

#include <chrono>

namespace citadel::http {

ServerContext::ServerContext(const config::HttpSettings& settings_in, sched::RequestRouter& router_in,
                             metrics::Registry& metrics_in)
    : settings(settings_in), router(router_in), metrics(metrics_in), keys(settings_in.api_keys, metrics_in) {}

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

void ServerContext::publish_open_connections() {
  metrics.gauge("citadel_http_connections_open", "HTTP connections open now")
      .set(static_cast<double>(open_connections.load()));
}

void ServerContext::count_refused_connection() {
  metrics
      .counter("citadel_http_connections_refused_total",
               "Connections answered 503 and closed because http.max_connections were open")
      .add(1.0);
}

void ServerContext::count_timeout(const std::string& phase) {
  metrics
      .counter("citadel_http_timeouts_total",
               "Connections closed by a read timeout, by phase (idle, header, body)",
               {{"phase", phase}})
      .add(1.0);
}

}  // namespace citadel::http
