// Router: the RequestRouter the front ends (HTTP, admin `infer`) submit to.
// Maps model names to their ModelSchedulers; a reload switches a name to a
// new scheduler atomically with install()/remove(), which hand back the
// replaced scheduler for the caller to drain in the background.
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
#include "host/sched/request.h"

#include <map>
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
  // True when every expected model has a scheduler that is not draining.
  bool ready() const override;
  TokenizerReply tokenize(const std::string& model, const std::string& input_json) override;
  TokenizerReply detokenize(const std::string& model, const std::vector<int32_t>& tokens) override;

  // Routes `name` to `scheduler`; returns the one it replaces (or null).
  std::shared_ptr<ModelScheduler> install(std::string name, std::shared_ptr<ModelScheduler> scheduler);
  // Stops routing `name`; returns its scheduler (or null).
  std::shared_ptr<ModelScheduler> remove(const std::string& name);
  std::shared_ptr<ModelScheduler> scheduler(const std::string& name) const;
  std::vector<std::string> model_names() const;

  // The models the configuration names; ready() waits for all of them.
  void set_expected_models(std::set<std::string> names);

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<ModelScheduler>> schedulers_;
  std::set<std::string> expected_;
};

}  // namespace citadel::sched
