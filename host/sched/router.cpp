#include "host/sched/router.h"

#include <algorithm>
#include <mutex>

namespace citadel::sched {

Submission Router::submit(InferenceRequest request, EventSink sink) {
  std::shared_lock lock(mutex_);
  auto found = sets_.find(request.model);
  if (found == sets_.end()) {
    Submission submission;
    submission.rejection = Rejection{RejectReason::unknown_model,
                                     "model '" + request.model + "' does not exist", 0};
    return submission;
  }
  return found->second->submit(std::move(request), std::move(sink));
}

TokenizerReply Router::tokenize(const std::string& model, const std::string& input_json) {
  std::shared_ptr<ModelScheduler> found = scheduler(model);
  return found ? found->tokenize(input_json) : RequestRouter::tokenize(model, input_json);
}

TokenizerReply Router::detokenize(const std::string& model, const std::vector<int32_t>& tokens) {
  std::shared_ptr<ModelScheduler> found = scheduler(model);
  return found ? found->detokenize(tokens) : RequestRouter::detokenize(model, tokens);
}

std::vector<ModelListing> Router::list_models() const {
  std::shared_lock lock(mutex_);
  std::vector<ModelListing> listings;
  for (const auto& [name, set] : sets_) {
    ModelListing listing = set->first()->listing();
    listing.name = name;
    // Failed only when every replica has; the first failure otherwise shows.
    for (const Replica& replica : set->replicas()) {
      ModelListing other = replica.scheduler->listing();
      if (other.state != "failed" && listing.state == "failed") listing.state = other.state;
    }
    listings.push_back(std::move(listing));
  }
  return listings;
}

void Router::note_device_fault_locked(const ModelScheduler& scheduler) const {
  if (!scheduler.health().device_fatal() || !device_fault_.empty()) return;
  device_fault_ = "model " + scheduler.model() + ": " + scheduler.health().failure();
}

std::string Router::device_fault() const {
  std::shared_lock lock(mutex_);
  std::lock_guard fault_lock(fault_mutex_);
  for (const auto& [name, set] : sets_) {
    for (const Replica& replica : set->replicas()) note_device_fault_locked(*replica.scheduler);
  }
  return device_fault_;
}

std::vector<std::string> Router::stalled_models(std::chrono::steady_clock::time_point now,
                                                std::chrono::nanoseconds bound) const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> stalled;
  for (const auto& [name, set] : sets_) {
    for (const Replica& replica : set->replicas()) {
      if (replica.scheduler->health().stalled(now, bound)) {
        stalled.push_back(name);
        break;
      }
    }
  }
  return stalled;
}

bool Router::ready() const {
  if (!device_fault().empty()) return false;
  std::shared_lock lock(mutex_);
  for (const std::string& name : expected_) {
    auto found = sets_.find(name);
    if (found == sets_.end() || found->second->first()->draining()) return false;
  }
  return true;
}

std::vector<std::shared_ptr<ModelScheduler>> Router::install(std::string name,
                                                             std::shared_ptr<ReplicaSet> replicas) {
  std::unique_lock lock(mutex_);
  auto& slot = sets_[std::move(name)];
  std::shared_ptr<ReplicaSet> replaced = std::move(slot);
  slot = std::move(replicas);
  std::vector<std::shared_ptr<ModelScheduler>> dropped;
  if (!replaced) return dropped;
  std::lock_guard fault_lock(fault_mutex_);
  for (const Replica& old : replaced->replicas()) {
    const bool kept = std::any_of(slot->replicas().begin(), slot->replicas().end(),
                                  [&](const Replica& now) { return now.scheduler == old.scheduler; });
    if (kept) continue;
    note_device_fault_locked(*old.scheduler);
    dropped.push_back(old.scheduler);
  }
  return dropped;
}

std::shared_ptr<ModelScheduler> Router::install(std::string name, std::shared_ptr<ModelScheduler> scheduler) {
  std::vector<Replica> replicas{Replica{scheduler, "", 0}};
  auto set = std::make_shared<ReplicaSet>(name, std::move(replicas), own_registry_);
  std::vector<std::shared_ptr<ModelScheduler>> dropped = install(std::move(name), std::move(set));
  return dropped.empty() ? nullptr : dropped.front();
}

std::vector<std::shared_ptr<ModelScheduler>> Router::remove(const std::string& name) {
  std::unique_lock lock(mutex_);
  std::vector<std::shared_ptr<ModelScheduler>> removed;
  auto found = sets_.find(name);
  if (found == sets_.end()) return removed;
  std::lock_guard fault_lock(fault_mutex_);
  for (const Replica& replica : found->second->replicas()) {
    note_device_fault_locked(*replica.scheduler);
    removed.push_back(replica.scheduler);
  }
  sets_.erase(found);
  return removed;
}

std::shared_ptr<ModelScheduler> Router::scheduler(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto found = sets_.find(name);
  return found == sets_.end() ? nullptr : found->second->first();
}

std::shared_ptr<ReplicaSet> Router::replica_set(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto found = sets_.find(name);
  return found == sets_.end() ? nullptr : found->second;
}

std::vector<std::string> Router::model_names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, set] : sets_) names.push_back(name);
  return names;
}

void Router::set_expected_models(std::set<std::string> names) {
  std::unique_lock lock(mutex_);
  expected_ = std::move(names);
}

}  // namespace citadel::sched
