// ModelScheduler's state towards the outside: listing and statistics, and
// fault handling (a fault counted towards the failed state,
// failing every request of a failed model; see SchedulerHealth). Split from
// model_scheduler.cpp for size.
#include "host/sched/model_scheduler.h"

#include "host/plugins/plugin_model_instance.h"

#include <spdlog/spdlog.h>

namespace citadel::sched {

// --- Listing and statistics -----------------------------------------------------

ModelListing ModelScheduler::listing() const {
  ModelListing listing;
  listing.name = model();
  listing.plugin = instance_->plugin_name();
  listing.plugin_version = instance_->plugin_version();
  listing.task = plugins::task_name(instance_->info().task);
  listing.state = health_.failed() ? "failed" : draining_ ? "draining" : "serving";
  listing.failure = health_.failure();
  listing.generation = instance_->generation();
  listing.max_context_tokens = instance_->info().max_context_tokens;
  listing.inputs = instance_->config().inputs;
  listing.device_weight_bytes = instance_->info().device_weight_bytes;
  return listing;
}

ModelSchedulerStats ModelScheduler::stats() const {
  ModelSchedulerStats stats;
  stats.queued = waiting_count_.load();
  stats.running = running_count_.load();
  stats.swapped = swapped_count_.load();
  stats.in_flight = in_flight_.load();
  stats.steps = steps_.load();
  stats.deferred_items = deferred_items_.load();
  stats.preemptions_swap = preemptions_swap_.load();
  stats.preemptions_recompute = preemptions_recompute_.load();
  stats.finished = finished_.load();
  stats.limits = planner_.limits();
  return stats;
}

// --- Faults ---------------------------------------------------------------------

bool ModelScheduler::record_step_fault(const std::string& kind, const std::string& what, bool fatal,
                                       bool device) {
  metrics_.count_fault(kind);
  const bool now_failed = fatal ? health_.record_fatal(what, device) : health_.record_faulty_step(what);
  if (!now_failed) return false;
  spdlog::error("model {} (generation {}) failed: {}; it refuses requests until a reload", model(),
                instance_->generation(), health_.failure());
  metrics_.set_failed(true);
  return true;
}

void ModelScheduler::fail_everything() {
  take_incoming();
  std::vector<SequencePtr> left = queues_.running;
  left.insert(left.end(), queues_.swapped.begin(), queues_.swapped.end());
  for (SequencePtr& sequence : queues_.waiting.take_if([](const Sequence&) { return true; })) {
    left.push_back(std::move(sequence));
  }
  const std::string code = health_.device_fatal() ? "device_fatal" : "model_failed";
  for (const SequencePtr& sequence : left) {
    finish(sequence, FinishReason::error, "error", code,
           "model " + model() + " has failed (" + health_.failure() + "); reload it to serve again");
  }
}

}  // namespace citadel::sched
