// ReplicaSet: replica choice (prefix affinity, then least loaded) and the
// per-replica routed counts. See replica_set.h.
#include "host/sched/replica_set.h"

#include "host/cache/prefix_hash.h"

#include <boost/json.hpp>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace citadel::sched {

ReplicaSet::ReplicaSet(std::string model, std::vector<Replica> replicas, metrics::Registry& registry)
    : model_(std::move(model)), replicas_(std::move(replicas)) {
  if (replicas_.empty()) throw std::invalid_argument("ReplicaSet of " + model_ + ": no replicas");
  for (const Replica& replica : replicas_) {
    auto slot = std::make_unique<Slot>();
    slot->routed_counter = &registry.counter(
        "citadel_replica_requests_total", "Requests routed to each replica of a model",
        {{"model", model_}, {"replica", std::to_string(replica.index)}, {"device", replica.device}});
    slots_.push_back(std::move(slot));
  }
}

std::vector<cache::PrefixHash> ReplicaSet::prefix_keys(const std::string& input_json) {
  boost::system::error_code error;
  const boost::json::value input = boost::json::parse(input_json, error);
  if (error || !input.is_object()) return {};
  std::string text;
  if (const boost::json::value* prompt = input.as_object().if_contains("prompt"); prompt && prompt->is_string()) {
    text = std::string(prompt->as_string());
  } else if (const boost::json::value* messages = input.as_object().if_contains("messages")) {
    text = boost::json::serialize(*messages);
  }
  const size_t used = std::min(text.size(), size_t{kChunkBytes} * kMaxChunks);
  std::vector<int32_t> bytes(used);
  for (size_t i = 0; i < used; ++i) bytes[i] = static_cast<unsigned char>(text[i]);
  return cache::hash_prompt_blocks(bytes, kChunkBytes);
}

uint64_t ReplicaSet::load(size_t index) const {
  const ModelSchedulerStats stats = replicas_[index].scheduler->stats();
  return stats.in_flight + slots_[index]->pending.load();
}

std::vector<size_t> ReplicaSet::candidates(const std::vector<cache::PrefixHash>& keys,
                                           std::optional<size_t>& affine) {
  std::vector<size_t> order(replicas_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::vector<uint64_t> loads(replicas_.size());
  for (size_t i = 0; i < replicas_.size(); ++i) {
    // A failed replica only gets requests when every replica has failed.
    loads[i] = replicas_[i].scheduler->health().failed() ? UINT64_MAX / 2 : load(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return loads[a] < loads[b]; });
  affine.reset();
  {
    std::lock_guard lock(affinity_mutex_);
    for (auto key = keys.rbegin(); key != keys.rend() && !affine; ++key) {
      if (auto found = owners_.find(*key); found != owners_.end()) affine = found->second.replica;
    }
  }
  if (affine && *affine < replicas_.size() && loads[*affine] <= loads[order.front()] + kAffinitySlack) {
    order.erase(std::find(order.begin(), order.end(), *affine));
    order.insert(order.begin(), *affine);
  }
  return order;
}

void ReplicaSet::remember(size_t index, const std::vector<cache::PrefixHash>& keys, bool take_over) {
  std::lock_guard lock(affinity_mutex_);
  for (cache::PrefixHash key : keys) {
    if (auto owned = owners_.find(key); !take_over && owned != owners_.end() && owned->second.replica != index) {
      continue;
    }
    const uint64_t stamp = ++next_stamp_;
    owners_[key] = Owner{static_cast<uint32_t>(index), stamp};
    remembered_.emplace_back(key, stamp);
  }
  while (remembered_.size() > kRememberedChunks) {
    const auto [key, stamp] = remembered_.front();
    remembered_.pop_front();
    if (auto found = owners_.find(key); found != owners_.end() && found->second.stamp == stamp) owners_.erase(found);
  }
}

Submission ReplicaSet::submit(InferenceRequest request, EventSink sink) {
  if (replicas_.size() == 1) {
    Submission submission = first()->submit(std::move(request), std::move(sink));
    if (submission) {
      slots_[0]->routed.fetch_add(1);
      slots_[0]->routed_counter->add();
    }
    return submission;
  }
  const std::vector<cache::PrefixHash> keys = prefix_keys(request.input_json);
  std::optional<size_t> affine;
  const std::vector<size_t> order = candidates(keys, affine);
  Submission submission;
  for (size_t attempt = 0; attempt < order.size(); ++attempt) {
    const size_t index = order[attempt];
    Slot& slot = *slots_[index];
    slot.pending.fetch_add(1);
    // The last candidate may take the request itself; earlier ones a copy,
    // as a full queue passes it on.
    const bool last = attempt + 1 == order.size();
    submission = last ? replicas_[index].scheduler->submit(std::move(request), std::move(sink))
                      : replicas_[index].scheduler->submit(request, sink);
    slot.pending.fetch_sub(1);
    if (submission) {
      slot.routed.fetch_add(1);
      slot.routed_counter->add();
      remember(index, keys, !affine || *affine == index);
      return submission;
    }
    if (submission.rejection.reason != RejectReason::queue_full &&
        submission.rejection.reason != RejectReason::model_failed &&
        submission.rejection.reason != RejectReason::draining) {
      return submission;  // the input itself was refused: every replica would
    }
  }
  return submission;
}

std::vector<ReplicaStatus> ReplicaSet::status() const {
  std::vector<ReplicaStatus> statuses;
  for (size_t i = 0; i < replicas_.size(); ++i) {
    const Replica& replica = replicas_[i];
    ReplicaStatus status;
    status.index = replica.index;
    status.device = replica.device;
    const ModelListing listing = replica.scheduler->listing();
    status.state = listing.state;
    status.generation = listing.generation;
    status.stats = replica.scheduler->stats();
    status.routed = slots_[i]->routed.load();
    statuses.push_back(std::move(status));
  }
  return statuses;
}

}  // namespace citadel::sched
