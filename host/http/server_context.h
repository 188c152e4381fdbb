// ServerContext: what every session and endpoint of one HttpServer shares:
// the settings, the request router, the metrics registry, the routes, the
// post gate and the id sequence. Owned by HttpServer; outlives its sessions.
//
// Read by: http_session.cpp and the endpoint handlers.
#pragma once

#include "host/config/model_config.h"
#include "host/http/post_gate.h"
#include "host/http/route_table.h"
#include "host/metrics/registry.h"
#include "host/sched/request.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace citadel::http {

struct ServerContext {
  ServerContext(const config::HttpSettings& settings, sched::RequestRouter& router,
                metrics::Registry& metrics);

  config::HttpSettings settings;
  sched::RequestRouter& router;
  metrics::Registry& metrics;
  RouteTable routes;
  std::shared_ptr<PostGate> gate = std::make_shared<PostGate>();
  std::atomic<uint64_t> next_response_id{1};
  std::atomic<bool> stopping{false};  // graceful stop: finish, then close
  int64_t started_unix = 0;           // "created" of /v1/models entries

  uint64_t take_response_id() { return next_response_id.fetch_add(1); }
  // citadel_http_requests_total{route,status} and the duration histogram.
  void count_response(const std::string& route, unsigned status, double seconds);
};

// Seconds since the Unix epoch ("created" of responses).
int64_t unix_time_now();

}  // namespace citadel::http
