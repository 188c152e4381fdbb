// Host: the running citadel process, wired together. Owns the configuration
// path, metrics registry, plugin registry, cache manager, scheduler router
// and device arbiters, the reload coordinator, the admin socket server (with
// the host commands) and the HTTP server; handles SIGHUP (reload) and
// SIGTERM/SIGINT (refuse new requests, drain for shutdown_grace_s, cancel
// the rest, exit 0) and tells systemd where it stands (the watchdog pings
// stop while a scheduler thread is stalled).
//
// Used by main.cpp (construct, start, run) and by the admin host commands
// (reload, load, unload, status). Thread-safe where the commands need it.
#pragma once

#include "host/cache/cache_manager.h"
#include "host/cache/cache_metrics.h"
#include "host/config/model_config.h"
#include "host/core/reload_coordinator.h"
#include "host/core/systemd_notifier.h"
#include "host/metrics/registry.h"
#include "host/plugins/plugin_registry.h"
#include "host/sched/device_arbiter.h"
#include "host/sched/router.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace citadel::admin {
class AdminServer;
}
namespace citadel::http {
class HttpServer;
}
namespace citadel::jobs {
class VideoJobManager;
}

namespace citadel::core {

struct HostOptions {
  std::string config_path;
  std::string log_level;  // overrides citadel.yaml's log_level when set
};

// The models of the first configuration could not be brought up.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Host {
 public:
  // Reads the configuration (throws config::ConfigError listing every
  // problem) and builds the parts; nothing is served yet.
  explicit Host(HostOptions options);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Creates the configured models (generation 1), starts HTTP and then the
  // admin socket (once it answers, everything is up), then notifies
  // READY=1. Throws StartupError / std::runtime_error.
  void start();
  // Serves until SIGTERM or SIGINT (or request_stop), then drains in-flight
  // work and stops everything. Returns the exit status (0).
  int run();
  void request_stop();

  // The reload path shared by SIGHUP and the admin commands.
  ReloadReport reload(const std::string& trigger);
  // Copies `file` into models_dir and reloads; on failure the copy is undone.
  ReloadReport load_model_file(const std::filesystem::path& file);
  // Disables NAME's models.d file (renamed to *.yaml.disabled) and reloads.
  // Throws std::invalid_argument when no such model is configured.
  ReloadReport unload_model(const std::string& name);
  // `load NAME`: re-enables a model that `unload` set aside (its models.d
  // file renamed to <file>.disabled) and reloads.
  ReloadReport reload_unloaded_model(const std::string& name);

  ReloadCoordinator& coordinator() { return *coordinator_; }
  sched::Router& router() { return router_; }
  cache::CacheManager& cache() { return *cache_; }
  plugins::PluginRegistry& plugins() { return *plugins_; }
  metrics::Registry& metrics() { return metrics_; }
  const std::string& config_path() const { return options_.config_path; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }
  double uptime_seconds() const;
  uint16_t http_port() const;

 private:
  void shutdown();
  // Pings the systemd watchdog unless a scheduler thread has been busy for
  // longer than step_stall_s (a hung plugin step): then systemd restarts us.
  void ping_watchdog_unless_stalled();
  void apply_log_level(const config::HostConfig& host_config);
  // The coordinator's on_applied hook: the log level and the HTTP API keys of
  // the configuration now running, in force before the reload is reported
  // finished (the other host settings need a restart).
  void apply_reloaded_host_settings(const config::Configuration& configuration);

  HostOptions options_;
  std::chrono::steady_clock::time_point started_at_;
  config::Configuration initial_;
  metrics::Registry metrics_;
  std::unique_ptr<plugins::PluginRegistry> plugins_;
  std::unique_ptr<cache::CacheManager> cache_;
  std::unique_ptr<cache::CacheMetricsExporter> cache_metrics_;  // before cache_ goes
  sched::DeviceArbiters arbiters_;
  sched::Router router_;
  std::unique_ptr<ReloadCoordinator> coordinator_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::shared_ptr<jobs::VideoJobManager> video_jobs_;  // outlives http_, not router_
  std::unique_ptr<http::HttpServer> http_;
  SystemdNotifier notifier_;

  struct Signals;
  std::unique_ptr<Signals> signals_;
  bool stopped_ = false;
  bool watchdog_withheld_ = false;  // main loop thread only
};

}  // namespace citadel::core
