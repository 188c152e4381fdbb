// ServerContext: what every session and endpoint of one HttpServer shares:
// the settings, the request router, the metrics registry, the routes, the
// API key gate, the post gate, the connection count and the id sequence. Owned by HttpServer; outlives its sessions.
//
// Read by: http_session.cpp and the endpoint handlers.
#pragma once

#include "host/config/model_config.h"
#include "host/http/api_key_gate.h"
#include "host/http/post_gate.h"
#include "host/http/route_table.h"
#include "host/metrics/registry.h"
#include "host/sched/request.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace citadel::jobs {
class VideoJobManager;
}

namespace citadel::http {

struct ServerContext {
  ServerContext(const config::HttpSettings& settings, sched::RequestRouter& router,
                metrics::Registry& metrics);

  config::HttpSettings settings;
  sched::RequestRouter& router;
  metrics::Registry& metrics;
  RouteTable routes;
  ApiKeyGate keys;                            // http.api_keys; replaced on reload
  std::atomic<uint32_t> open_connections{0};  // counted against http.max_connections
  std::shared_ptr<PostGate> gate = std::make_shared<PostGate>();
  std::atomic<uint64_t> next_response_id{1};
  std::atomic<bool> stopping{false};  // graceful stop: finish, then close
  int64_t started_unix = 0;           // "created" of /v1/models entries
  uint16_t port = 0;                  // the bound port (POST /benchmark loads it)
  // One POST /benchmark at a time; shared with the thread that runs it.
  std::shared_ptr<std::atomic<bool>> benchmark_running = std::make_shared<std::atomic<bool>>(false);
  // The jobs of /v1/videos (host/jobs); null: those routes answer 503.
  std::shared_ptr<jobs::VideoJobManager> video_jobs;

  uint64_t take_response_id() { return next_response_id.fetch_add(1); }
  // citadel_http_requests_total{route,status} and the duration histogram.
  void count_response(const std::string& route, unsigned status, double seconds);
  // citadel_http_connections_open, after open_connections changed.
  void publish_open_connections();
  // citadel_http_connections_refused_total and citadel_http_timeouts_total{phase}.
  void count_refused_connection();
  void count_timeout(const std::string& phase);
};

// Seconds since the Unix epoch ("created" of responses).
int64_t unix_time_now();

}  // namespace citadel::http
