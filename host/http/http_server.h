// HttpServer: the HTTP front end of the host (Boost.Beast on Boost.Asio, two
// io threads of its own). Serves the OpenAI-compatible /v1 API, /inference,
// /health, /ready and /metrics; every request goes to the scheduler through
// the RequestRouter. See docs/http-api.md for routes, shapes and statuses.
//
// Constructed and driven by host/core: start() after the router exists,
// stop() before the schedulers stop (stop lets running streams finish, so the
// schedulers must still be stepping). Thread-safe start/stop; not copyable.
#pragma once

#include "host/config/model_config.h"
#include "host/metrics/registry.h"
#include "host/sched/request.h"

#include <chrono>
#include <cstdint>
#include <memory>

namespace citadel::jobs {
class VideoJobManager;
}

namespace citadel::http {

class HttpServer {
 public:
  HttpServer(const config::HttpSettings& settings, sched::RequestRouter& router,
             metrics::Registry& metrics);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds settings.listen ("host:port", "[v6]:port"; port 0 picks a free
  // one) and starts serving. An empty listen address disables the server.
  // Throws std::runtime_error naming http.listen when it cannot bind.
  void start();

  // Graceful stop: stops accepting, closes idle connections, lets requests
  // in progress (streams included) finish for up to drain_timeout, then
  // closes what is left and joins the io threads. Idempotent.
  void stop();
  // The first half of stop(), for a host that drains before stopping: new
  // connections are refused, idle ones closed, new requests on open ones
  // answered 503; requests in progress go on. Idempotent.
  void stop_accepting();

  // The bound port (0 before start or when disabled).
  uint16_t port() const;
  bool running() const;

  void set_drain_timeout(std::chrono::milliseconds timeout);

  // The video jobs /v1/videos serves (before start()).
  void set_video_jobs(std::shared_ptr<jobs::VideoJobManager> jobs);

  // Applies the http.api_keys of a reloaded configuration (the other http
  // settings take effect at the next start). Thread-safe.
  void update_api_keys(const config::ApiKeySettings& keys);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port" / "[v6]:port"; throws std::runtime_error naming
// http.listen when malformed.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
ListenAddress parse_listen_address(const std::string& listen);

}  // namespace citadel::http
