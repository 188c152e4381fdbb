#include "host/sched/router.h"

#include <mutex>

namespace citadel::sched {

Submission Router::submit(InferenceRequest request, EventSink sink) {
  std::shared_lock lock(mutex_);
  auto found = schedulers_.find(request.model);
  if (found == schedulers_.end()) {
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
  for (const auto& [name, scheduler] : schedulers_) {
    ModelListing listing = scheduler->listing();
    listing.name = name;
    listings.push_back(std::move(listing));
  }
  return listings;
}

bool Router::ready() const {
  std::shared_lock lock(mutex_);
  for (const std::string& name : expected_) {
    auto found = schedulers_.find(name);
    if (found == schedulers_.end() || found->second->draining()) return false;
  }
  return true;
}

std::shared_ptr<ModelScheduler> Router::install(std::string name, std::shared_ptr<ModelScheduler> scheduler) {
  std::unique_lock lock(mutex_);
  auto& slot = schedulers_[std::move(name)];
  std::shared_ptr<ModelScheduler> replaced = std::move(slot);
  slot = std::move(scheduler);
  return replaced;
}

std::shared_ptr<ModelScheduler> Router::remove(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto found = schedulers_.find(name);
  if (found == schedulers_.end()) return nullptr;
  std::shared_ptr<ModelScheduler> removed = std::move(found->second);
  schedulers_.erase(found);
  return removed;
}

std::shared_ptr<ModelScheduler> Router::scheduler(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto found = schedulers_.find(name);
  return found == schedulers_.end() ? nullptr : found->second;
}

std::vector<std::string> Router::model_names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, scheduler] : schedulers_) names.push_back(name);
  return names;
}

void Router::set_expected_models(std::set<std::string> names) {
  std::unique_lock lock(mutex_);
  expected_ = std::move(names);
}

}  // namespace citadel::sched
