#include "host/core/host.h"

#include "host/admin/admin_server.h"
#include "host/admin/host_commands.h"
#include "host/config/config_loader.h"
#include "host/http/http_server.h"
#include "host/jobs/video_job_manager.h"
#include "host/plugins/plugin_identity.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>

namespace citadel::core {

// The main loop's signal handling, the watchdog timer and the thread that
// runs SIGHUP reloads (so a long reload never blocks signals or the watchdog).
struct Host::Signals {
  boost::asio::io_context io;
  boost::asio::signal_set set{io, SIGHUP, SIGTERM, SIGINT};
  boost::asio::steady_timer watchdog{io};
  std::mutex mutex;
  std::condition_variable wake;
  bool reload_pending = false;
  bool quitting = false;
  std::thread reload_thread;
};

namespace {

config::Configuration load_or_throw(const std::string& path) {
  return config::load_configuration(path, plugins::plugin_identity_reader());
}

}  // namespace

Host::Host(HostOptions options)
    : options_(std::move(options)),
      started_at_(std::chrono::steady_clock::now()),
      initial_(load_or_throw(options_.config_path)),
      signals_(std::make_unique<Signals>()) {
  // The signal set exists from here on: an early SIGHUP must not kill us.
  apply_log_level(initial_.host);
  plugins_ = std::make_unique<plugins::PluginRegistry>(initial_.host.runtime_dir, &metrics_);
  cache_ = std::make_unique<cache::CacheManager>(initial_.host);
  cache_metrics_ = std::make_unique<cache::CacheMetricsExporter>(metrics_, *cache_);
  coordinator_ = std::make_unique<ReloadCoordinator>(
      options_.config_path, ReloadTargets{*plugins_, *cache_, router_, arbiters_, metrics_});
  coordinator_->set_on_applied(
      [this](const config::Configuration& configuration) { apply_reloaded_host_settings(configuration); });
  admin_ = std::make_unique<admin::AdminServer>(initial_.host.admin);
  admin::register_host_commands(*admin_, *this);
  if (!initial_.host.http.listen.empty()) {
    http_ = std::make_unique<http::HttpServer>(initial_.host.http, router_, metrics_);
    video_jobs_ = std::make_shared<jobs::VideoJobManager>(initial_.host.videos, initial_.host.runtime_dir, router_,
                                                          metrics_);
    http_->set_video_jobs(video_jobs_);
  }
}

Host::~Host() { shutdown(); }

void Host::apply_log_level(const config::HostConfig& host_config) {
  const std::string level = options_.log_level.empty() ? host_config.log_level : options_.log_level;
  spdlog::set_level(spdlog::level::from_str(level));
}

void Host::apply_reloaded_host_settings(const config::Configuration& configuration) {
  apply_log_level(configuration.host);
  if (http_) http_->update_api_keys(configuration.host.http.api_keys);
}

double Host::uptime_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
}

uint16_t Host::http_port() const { return http_ ? http_->port() : 0; }

void Host::start() {
  ReloadReport report = coordinator_->apply(std::move(initial_), "startup");
  if (!report.ok) {
    std::string message = "the configured models could not be started:";
    for (const std::string& error : report.errors) message += "\n  " + error;
    throw StartupError(message);
  }
  // HTTP first: the admin socket answering is what tools and tests take for
  // "started", so by then the listener must be bound (status reports its
  // port) and nothing is left to start.
  if (http_) http_->start();
  admin_->start();
  spdlog::info("citadel {} ready: {} model(s), admin socket {}{}", CITADEL_VERSION,
               router_.model_names().size(), admin_->socket_path(),
               http_ ? ", http port " + std::to_string(http_->port()) : std::string());
  notifier_.ready("serving generation " + std::to_string(coordinator_->generation()));
}

ReloadReport Host::reload(const std::string& trigger) {
  notifier_.reloading();
  ReloadReport report = coordinator_->reload(trigger);
  notifier_.ready(report.ok ? "serving generation " + std::to_string(report.generation)
                            : "reload rejected; serving generation " +
                                  std::to_string(report.generation));
  return report;
}

ReloadReport Host::load_model_file(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  const fs::path models_dir = coordinator_->configuration()->host.models_dir;
  if (!fs::is_regular_file(file)) {
    throw std::invalid_argument("load: " + file.string() + ": no such file");
  }
  if (file.extension() != ".yaml" && file.extension() != ".yml") {
    throw std::invalid_argument("load: " + file.string() + ": a models.d file ends in .yaml");
  }
  const fs::path target = models_dir / file.filename();
  const fs::path backup = target.string() + ".previous";
  const bool replaced = fs::exists(target);
  notifier_.reloading();
  ReloadReport report = coordinator_->reload_with_edit(
      "load",
      [&] {
        if (replaced) fs::copy_file(target, backup, fs::copy_options::overwrite_existing);
        if (fs::absolute(file) != fs::absolute(target)) {
          fs::copy_file(file, target, fs::copy_options::overwrite_existing);
        }
      },
      [&] {
        std::error_code ignored;
        if (replaced) {
          fs::rename(backup, target, ignored);
        } else {
          fs::remove(target, ignored);
        }
      });
  if (report.ok && replaced) {
    std::error_code ignored;
    fs::remove(backup, ignored);
  }
  notifier_.ready("serving generation " + std::to_string(report.generation));
  return report;
}

ReloadReport Host::unload_model(const std::string& name) {
  namespace fs = std::filesystem;
  auto configuration = coordinator_->configuration();
  auto model = configuration->models.find(name);
  if (model == configuration->models.end()) {
    throw std::invalid_argument("unload: no model named " + name);
  }
  const fs::path file = model->second.source_file;
  const fs::path disabled = file.string() + ".disabled";
  notifier_.reloading();
  ReloadReport report = coordinator_->reload_with_edit(
      "unload", [&] { fs::rename(file, disabled); },
      [&] {
        std::error_code ignored;
        fs::rename(disabled, file, ignored);
      });
  notifier_.ready("serving generation " + std::to_string(report.generation));
  return report;
}

ReloadReport Host::reload_unloaded_model(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path models_dir = coordinator_->configuration()->host.models_dir;
  fs::path disabled;
  for (const char* extension : {".yaml", ".yml"}) {
    const fs::path candidate = models_dir / (name + extension + std::string(".disabled"));
    if (fs::is_regular_file(candidate)) disabled = candidate;
  }
  if (disabled.empty()) {
    // `load NAME` of a failed model: a reload recreates it.
    if (auto scheduler = router_.scheduler(name); scheduler && scheduler->health().failed()) {
      return reload("load");
    }
    throw std::invalid_argument("load: no unloaded model named " + name + " in " +
                                models_dir.string() + " (expected " + name + ".yaml.disabled)");
  }
  const fs::path file = disabled.parent_path() / disabled.stem();
  notifier_.reloading();
  ReloadReport report = coordinator_->reload_with_edit(
      "load", [&] { fs::rename(disabled, file); },
      [&] {
        std::error_code ignored;
        fs::rename(file, disabled, ignored);
      });
  notifier_.ready("serving generation " + std::to_string(report.generation));
  return report;
}

int Host::run() {
  Signals& s = *signals_;
  s.reload_thread = std::thread([this, &s] {
    std::unique_lock lock(s.mutex);
    for (;;) {
      s.wake.wait(lock, [&] { return s.reload_pending || s.quitting; });
      if (s.quitting) return;
      s.reload_pending = false;  // SIGHUPs arriving meanwhile coalesce into one more
      lock.unlock();
      reload("SIGHUP");
      lock.lock();
    }
  });
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [this, &s, &on_signal](const boost::system::error_code& error, int signal_number) {
        if (error) return;
        if (signal_number == SIGHUP) {
          spdlog::info("SIGHUP: reloading {}", options_.config_path);
          {
            std::lock_guard lock(s.mutex);
            s.reload_pending = true;
          }
          s.wake.notify_one();
          s.set.async_wait(on_signal);
          return;
        }
        spdlog::info("{}: draining in-flight work, then exiting",
                     signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
        s.io.stop();
      };
  s.set.async_wait(on_signal);
  auto interval = notifier_.watchdog_interval();
  if (interval.count() == 0) {
    if (auto configuration = coordinator_->configuration()) {
      interval = std::chrono::seconds(configuration->host.watchdog_s);
    }
  }
  std::function<void(const boost::system::error_code&)> on_watchdog =
      [this, &s, &on_watchdog, interval](const boost::system::error_code& error) {
        if (error) return;
        ping_watchdog_unless_stalled();
        s.watchdog.expires_after(interval / 2);
        s.watchdog.async_wait(on_watchdog);
      };
  if (interval.count() > 0) {
    ping_watchdog_unless_stalled();
    s.watchdog.expires_after(interval / 2);
    s.watchdog.async_wait(on_watchdog);
  }
  s.io.run();
  shutdown();
  return 0;
}

void Host::ping_watchdog_unless_stalled() {
  const auto configuration = coordinator_->configuration();
  const std::chrono::seconds bound(configuration ? configuration->host.step_stall_s : 120);
  const std::vector<std::string> stalled = router_.stalled_models(std::chrono::steady_clock::now(), bound);
  if (stalled.empty()) {
    notifier_.watchdog();
    watchdog_withheld_ = false;
    return;
  }
  if (!watchdog_withheld_) {
    std::string names;
    for (const std::string& name : stalled) names += (names.empty() ? "" : ", ") + name;
    spdlog::error("watchdog: not pinging systemd: the scheduler of {} has been busy for over {} s "
                  "(step_stall_s)", names, bound.count());
  }
  watchdog_withheld_ = true;
}

void Host::request_stop() {
  boost::asio::post(signals_->io, [this] { signals_->io.stop(); });
}

void Host::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  notifier_.stopping();
  {
    std::lock_guard lock(signals_->mutex);
    signals_->quitting = true;
  }
  signals_->wake.notify_all();
  if (signals_->reload_thread.joinable()) signals_->reload_thread.join();
  // Refuse new work, finish what was accepted within the grace time while the
  // front ends can still deliver it, cancel the rest, then close the front
  // ends (the cancelled requests' replies go out first).
  if (http_) http_->stop_accepting();
  const auto configuration = coordinator_->configuration();
  const std::chrono::seconds grace(configuration ? configuration->host.shutdown_grace_s : 30);
  const uint64_t cancelled = coordinator_->shutdown(grace);
  if (cancelled > 0) {
    spdlog::warn("shutdown: {} request(s) still running after {} s (shutdown_grace_s) were cancelled",
                 cancelled, grace.count());
  }
  if (http_) {
    http_->set_drain_timeout(std::chrono::milliseconds(5000));
    http_->stop();
  }
  if (admin_) admin_->stop();
  spdlog::info("citadel stopped after {:.1f} s", uptime_seconds());
}

}  // namespace citadel::core
