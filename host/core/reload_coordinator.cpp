#include "host/core/reload_coordinator.h"

#include "host/config/config_diff.h"
#include "host/config/config_loader.h"
#include "host/plugins/plugin_identity.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace citadel::core {

namespace {

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One warning per device that citadel.yaml no longer lists, naming the
// replicas that keep serving on it until the restart.
std::vector<std::string> removed_device_warnings(const std::string& file, const std::vector<std::string>& removed,
                                                 const sched::Router& router) {
  std::vector<std::string> warnings;
  for (const std::string& device : removed) {
    std::string serving;
    for (const std::string& name : router.model_names()) {
      const std::shared_ptr<sched::ReplicaSet> set = router.replica_set(name);
      if (!set) continue;
      for (const sched::Replica& replica : set->replicas()) {
        if (replica.device != device) continue;
        serving += (serving.empty() ? "" : ", ") + name +
                   (set->replicas().size() > 1 ? " replica " + std::to_string(replica.index) : "");
      }
    }
    warnings.push_back(file + ": devices: " + device +
                       " removed: it takes no new models and its pool goes at the next restart; " +
                       (serving.empty() ? "nothing runs on it" : "until then it still serves " + serving));
  }
  return warnings;
}

// Why the first failed replica of `set` failed; empty when none has (or no set).
std::string first_failure(const sched::ReplicaSet* set) {
  if (set == nullptr) return {};
  for (const sched::Replica& replica : set->replicas()) {
    if (replica.scheduler->health().failed()) return replica.scheduler->health().failure();
  }
  return {};
}

}  // namespace

ReloadCoordinator::ReloadCoordinator(std::string config_path, ReloadTargets targets)
    : config_path_(std::move(config_path)),
      targets_(targets),
      deployer_(targets.registry, targets.cache, targets.arbiters, targets.metrics),
      configuration_(std::make_shared<config::Configuration>()) {}

ReloadCoordinator::~ReloadCoordinator() { retirement_.wait(); }

uint64_t ReloadCoordinator::generation() const {
  std::lock_guard lock(state_mutex_);
  return generation_;
}

std::shared_ptr<const config::Configuration> ReloadCoordinator::configuration() const {
  std::lock_guard lock(state_mutex_);
  return configuration_;
}

std::optional<ReloadReport> ReloadCoordinator::last_report() const {
  std::lock_guard lock(state_mutex_);
  return last_report_;
}

ReloadState ReloadCoordinator::state() const {
  std::lock_guard lock(state_mutex_);
  return ReloadState{generation_, last_report_, config_errors_};
}

ReloadReport ReloadCoordinator::reload(const std::string& trigger) {
  std::lock_guard reload_lock(reload_mutex_);
  return load_and_apply_locked(trigger);
}

ReloadReport ReloadCoordinator::reload_with_edit(const std::string& trigger,
                                                 const std::function<void()>& edit,
                                                 const std::function<void()>& undo) {
  std::lock_guard reload_lock(reload_mutex_);
  edit();
  ReloadReport report = load_and_apply_locked(trigger);
  if (!report.ok && undo) undo();
  return report;
}

ReloadReport ReloadCoordinator::apply(config::Configuration next, const std::string& trigger) {
  std::lock_guard reload_lock(reload_mutex_);
  return apply_locked(std::move(next), trigger, std::chrono::steady_clock::now());
}

ReloadReport ReloadCoordinator::load_and_apply_locked(const std::string& trigger) {
  const auto start = std::chrono::steady_clock::now();
  config::Configuration next;
  try {
    next = config::load_configuration(config_path_, plugins::plugin_identity_reader());
  } catch (const config::ConfigError& error) {
    ReloadReport report;
    report.trigger = trigger;
    for (const config::ConfigProblem& problem : error.problems()) {
      report.errors.push_back(problem.to_string());
    }
    if (report.errors.empty()) report.errors.emplace_back(error.what());
    finish_report(report, start);
    return report;
  } catch (const std::exception& error) {
    ReloadReport report;
    report.trigger = trigger;
    report.errors.push_back(config_path_ + ": " + error.what());
    finish_report(report, start);
    return report;
  }
  return apply_locked(std::move(next), trigger, start);
}

ReloadReport ReloadCoordinator::apply_locked(config::Configuration next, const std::string& trigger,
                                             std::chrono::steady_clock::time_point start) {
  ReloadReport report;
  report.trigger = trigger;
  report.warnings = next.warnings;
  for (const std::string& note : next.notes) spdlog::debug("{}", note);
  const std::shared_ptr<const config::Configuration> current = configuration();
  config::ConfigDiff diff = config::diff(*current, next);
  // A failed model is recreated by any reload, even with its files unchanged.
  for (auto it = diff.unchanged.begin(); it != diff.unchanged.end();) {
    const std::string failure = first_failure(targets_.router.replica_set(*it).get());
    if (!failure.empty()) {
      report.warnings.push_back("model " + *it + " had failed (" + failure + "): recreated");
      diff.changed.push_back(*it);
      it = diff.unchanged.erase(it);
    } else {
      ++it;
    }
  }
  const uint64_t generation = this->generation() + 1;
  // The first generation is the start: its host settings are the ones in use.
  if (generation > 1) {
    for (const std::string& key : diff.host_changes_needing_restart) {
      report.warnings.push_back(next.host.source_file + ": " + key +
                                ": changed, takes effect after a restart");
    }
  }

  // Create every added and changed model beside what is serving.
  std::vector<ModelDeployment> deployments;
  std::vector<std::string> to_deploy = diff.added;
  to_deploy.insert(to_deploy.end(), diff.changed.begin(), diff.changed.end());
  for (const std::string& name : to_deploy) {
    try {
      // A change of `replicas` alone resizes the running set (none failed:
      // a failed model was moved to `changed` above and is recreated).
      std::shared_ptr<sched::ReplicaSet> resize_from;
      if (only_replicas_changed(*current, next, name)) resize_from = targets_.router.replica_set(name);
      if (!first_failure(resize_from.get()).empty()) resize_from = nullptr;
      deployments.push_back(deployer_.deploy(next.models.at(name), next, generation, resize_from.get()));
    } catch (const std::exception& e) {
      report.errors.emplace_back(e.what());
      const config::ModelConfig& model = next.models.at(name);
      targets_.metrics
          .counter("citadel_plugin_load_errors_total",
                   "Model instances whose plugin failed to load or create",
                   {{"plugin", model.plugin}})
          .add();
    }
  }
  if (!report.errors.empty()) {
    for (ModelDeployment& deployment : deployments) {
      for (auto& scheduler : deployment.created) scheduler->stop();
    }
    deployments.clear();  // instances destroyed, libraries closed
    finish_report(report, start);
    return report;
  }

  // Switch routing, then let the replaced schedulers drain.
  std::set<std::string> expected;
  for (const auto& [name, model] : next.models) expected.insert(name);
  targets_.router.set_expected_models(expected);
  std::vector<std::shared_ptr<sched::ModelScheduler>> replaced;
  for (ModelDeployment& deployment : deployments) {
    for (auto& old : targets_.router.install(deployment.name, std::move(deployment.set))) {
      replaced.push_back(std::move(old));
    }
  }
  std::vector<std::string> removed_names;
  for (const std::string& name : diff.removed) {
    for (auto& old : targets_.router.remove(name)) replaced.push_back(std::move(old));
    removed_names.push_back(name);
  }
  {
    std::lock_guard lock(state_mutex_);
    configuration_ = std::make_shared<const config::Configuration>(std::move(next));
    generation_ = generation;
  }
  for (auto& old : replaced) {
    const std::string name = old->model();
    const bool removed =
        std::find(removed_names.begin(), removed_names.end(), name) != removed_names.end();
    retirement_.retire(std::move(old), [this, name, removed] {
      // A removed model's series go with it, unless it came back meanwhile.
      if (removed && configuration()->models.count(name) == 0) {
        targets_.metrics.remove_series_with_label("model", name);
      }
    });
  }
  if (generation > 1) {
    for (std::string& warning : removed_device_warnings(configuration()->host.source_file,
                                                        removed_devices(targets_.cache, configuration()->host),
                                                        targets_.router)) {
      report.warnings.push_back(std::move(warning));
    }
  }
  if (on_applied_) on_applied_(*configuration());
  report.ok = true;
  report.added = diff.added;
  report.removed = diff.removed;
  report.changed = diff.changed;
  finish_report(report, start);
  return report;
}

void ReloadCoordinator::finish_report(ReloadReport& report,
                                      std::chrono::steady_clock::time_point start) {
  report.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  report.finished_unix_ms = unix_ms_now();
  targets_.metrics
      .counter("citadel_reloads_total", "Configuration reloads by outcome",
               {{"outcome", report.ok ? "ok" : "failed"}})
      .add();
  targets_.metrics
      .histogram("citadel_reload_duration_seconds", "Time from reading the configuration to serving it",
                 metrics::latency_buckets())
      .observe(report.duration_ms / 1000.0);
  {
    std::lock_guard lock(state_mutex_);
    report.generation = generation_;
    if (report.ok) {
      config_errors_.clear();
    } else {
      config_errors_ = report.errors;
    }
    last_report_ = report;
  }
  if (report.ok) {
    spdlog::info("{}", report.summary());
    for (const std::string& warning : report.warnings) spdlog::warn("{}", warning);
  } else {
    spdlog::error("{}", report.summary());
    for (const std::string& error : report.errors) spdlog::error("{}", error);
  }
}

uint64_t ReloadCoordinator::shutdown(std::chrono::nanoseconds grace) {
  std::lock_guard reload_lock(reload_mutex_);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  std::vector<std::shared_ptr<sched::ModelScheduler>> serving;
  for (const std::string& name : targets_.router.model_names()) {
    if (auto set = targets_.router.replica_set(name)) {
      for (const sched::Replica& replica : set->replicas()) serving.push_back(replica.scheduler);
    }
  }
  std::vector<std::thread> drains;
  for (auto& scheduler : serving) {
    drains.emplace_back([&scheduler, deadline] { scheduler->drain_for(deadline - std::chrono::steady_clock::now()); });
  }
  for (std::thread& drain : drains) drain.join();
  retirement_.wait_until(deadline);
  uint64_t cancelled = 0;
  for (const auto& scheduler : serving) cancelled += scheduler->stats().in_flight;
  cancelled += retirement_.stop_all();
  for (const std::string& name : targets_.router.model_names()) {
    for (auto& scheduler : targets_.router.remove(name)) scheduler->stop();
  }
  retirement_.wait();
  return cancelled;
}

}  // namespace citadel::core
