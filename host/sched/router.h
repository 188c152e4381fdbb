// Router: the RequestRouter the front ends (HTTP, admin `infer`) submit to.
// Maps model names to their ReplicaSets (one ModelScheduler per replica;
// the set picks the replica of each request); a reload switches a name to a
// new set atomically with install()/remove(), which hand back the replaced
// schedulers for the caller to drain in the background.
//
// Atomicity: submit() holds a shared lock while it hands the request to the
// scheduler it looked up, and install()/remove() take the lock exclusively,
// so once install() returns every submission that saw the old scheduler is
// already queued there (and will be served by its drain), and every later
// one sees the new scheduler. No submission sees neither.
//
// Called by: host/http, host/admin (submit, list_models, ready); host/core
// (install, remove, set_expected_models). Thread-safe.
#pragma once

#include "host/sched/model_scheduler.h"
#include "host/sched/replica_set.h"
#include "host/sched/request.h"

#include <chrono>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

namespace citadel::sched {

class Router : public RequestRouter {
 public:
  Submission submit(InferenceRequest request, EventSink sink) override;
  std::vector<ModelListing> list_models() const override;
  // True when every expected model has a scheduler that is not draining
  // and no model ever reported a device-fatal error (device_fault()).
  bool ready() const override;
  // The first device-fatal error any scheduler routed here reported, even
  // one replaced since (a sticky CUDA error outlives the model); empty if none.
  std::string device_fault() const;
  // Models whose scheduler thread has been busy in one iteration for longer
  // than `bound` (the watchdog stops pinging while any is).
  std::vector<std::string> stalled_models(std::chrono::steady_clock::time_point now,
                                          std::chrono::nanoseconds bound) const;
  TokenizerReply tokenize(const std::string& model, const std::string& input_json) override;
  TokenizerReply detokenize(const std::string& model, const std::vector<int32_t>& tokens) override;

  // Routes `name` to `replicas`; returns the schedulers of the set it
  // replaces that the new set does not keep (a resize keeps some).
  std::vector<std::shared_ptr<ModelScheduler>> install(std::string name, std::shared_ptr<ReplicaSet> replicas);
  // One replica, no counters of its own (tests, tools).
  std::shared_ptr<ModelScheduler> install(std::string name, std::shared_ptr<ModelScheduler> scheduler);
  // Stops routing `name`; returns its schedulers (empty if none).
  std::vector<std::shared_ptr<ModelScheduler>> remove(const std::string& name);
  // The first replica of `name` (null if none): settings, tokenizer, health.
  std::shared_ptr<ModelScheduler> scheduler(const std::string& name) const;
  std::shared_ptr<ReplicaSet> replica_set(const std::string& name) const;
  std::vector<std::string> model_names() const;

  // The models the configuration names; ready() waits for all of them.
  void set_expected_models(std::set<std::string> names);

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<ReplicaSet>> sets_;
  metrics::Registry own_registry_;  // counters of sets made by install(name, scheduler)
  std::set<std::string> expected_;
  void note_device_fault_locked(const ModelScheduler& scheduler) const;
  mutable std::mutex fault_mutex_;
  mutable std::string device_fault_;  // sticky for the process
};

}  // namespace citadel::sched
