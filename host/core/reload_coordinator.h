// ReloadCoordinator: the one path by which configuration reaches the running
// host — at start-up, on SIGHUP and on the admin reload/load/unload commands.
//
// A reload reads and validates everything (load_configuration; any problem:
// nothing changes, the problems are logged one per line, remembered for
// `status` and returned), diffs it against the running configuration,
// creates the added and changed instances beside the old ones (each model's
// `replicas` of them, through ReplicaDeployer; a change of `replicas` alone
// keeps the running replicas and adds or retires the difference; any
// failure: the new ones are dropped, nothing changes), switches routing in
// the Router, and hands the replaced schedulers to SchedulerRetirement to
// drain in the background. Reloads are
// serialized; each successful one gets the next generation number.
//
// Owned by core::Host; called from the signal thread and admin workers.
#pragma once

#include "host/cache/cache_manager.h"
#include "host/config/model_config.h"
#include "host/core/reload_report.h"
#include "host/core/replica_deployer.h"
#include "host/core/scheduler_retirement.h"
#include "host/metrics/registry.h"
#include "host/plugins/plugin_registry.h"
#include "host/sched/device_arbiter.h"
#include "host/sched/router.h"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace citadel::core {

// What `status` shows of the reloads, read under one lock so that the
// generation, the last report and its errors belong to the same reload.
struct ReloadState {
  uint64_t generation = 0;
  std::optional<ReloadReport> last_report;
  std::vector<std::string> config_errors;
};

// The running parts a reload changes. All outlive the coordinator.
struct ReloadTargets {
  plugins::PluginRegistry& registry;
  cache::CacheManager& cache;
  sched::Router& router;
  sched::DeviceArbiters& arbiters;
  metrics::Registry& metrics;
};

class ReloadCoordinator {
 public:
  ReloadCoordinator(std::string config_path, ReloadTargets targets);
  ~ReloadCoordinator();  // waits for draining schedulers

  // Reads the configuration file again and applies it (see above).
  ReloadReport reload(const std::string& trigger);
  // Applies an already loaded configuration (start-up, tests).
  ReloadReport apply(config::Configuration next, const std::string& trigger);
  // Runs `edit` (e.g. write or rename a models.d file) and reloads, under the
  // reload lock. When the reload fails, `undo` runs so the files match what
  // is serving again.
  ReloadReport reload_with_edit(const std::string& trigger, const std::function<void()>& edit,
                                const std::function<void()>& undo);

  // Runs after each successful reload (start-up included) has installed its
  // configuration and before its report is published (last_report, the
  // `status` command, the log), under the reload lock: host-wide settings
  // (HTTP API keys, log level) are in force once a client sees the reload
  // finished. Set once, before the first apply.
  void set_on_applied(std::function<void(const config::Configuration&)> hook) { on_applied_ = std::move(hook); }

  uint64_t generation() const;
  std::shared_ptr<const config::Configuration> configuration() const;
  std::optional<ReloadReport> last_report() const;
  // The generation, the last report and, when that reload failed, its
  // problems, in one consistent snapshot (`status`).
  ReloadState state() const;
  std::vector<std::string> draining_models() const { return retirement_.draining(); }
  // Blocks until every replaced scheduler has drained and been released.
  void wait_for_retired() { retirement_.wait(); }
  // Shutdown: lets every model (those serving and those a reload retired)
  // finish what it accepted for up to `grace`, then cancels what is left
  // and takes every model out of routing. Returns the requests cancelled.
  uint64_t shutdown(std::chrono::nanoseconds grace);

 private:
  ReloadReport apply_locked(config::Configuration next, const std::string& trigger,
                            std::chrono::steady_clock::time_point start);
  ReloadReport load_and_apply_locked(const std::string& trigger);
  void finish_report(ReloadReport& report, std::chrono::steady_clock::time_point start);

  const std::string config_path_;
  ReloadTargets targets_;
  ReplicaDeployer deployer_;
  SchedulerRetirement retirement_;
  std::function<void(const config::Configuration&)> on_applied_;

  std::mutex reload_mutex_;  // one reload at a time
  mutable std::mutex state_mutex_;
  uint64_t generation_ = 0;
  std::shared_ptr<const config::Configuration> configuration_;
  std::optional<ReloadReport> last_report_;
  std::vector<std::string> config_errors_;
};

}  // namespace citadel::core
