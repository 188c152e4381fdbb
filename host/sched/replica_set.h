// ReplicaSet: the instances (one ModelScheduler each) that serve one model
// name when its models.d file says `replicas: N`, and the choice of replica
// for each request:
//   - prefix-cache affinity: the prompt's leading text, cut into 64-byte
//     chunks and chain-hashed (cache::hash_prompt_blocks over the bytes), is
//     looked up among the recent requests' chunks; the replica that served the
//     longest matching prefix gets the request, so its prefix cache hits,
//     unless it is overloaded (more than kAffinitySlack requests above the
//     least loaded replica; the overflow does not move the affinity);
//   - otherwise the least loaded replica (queued + running + swapped, plus
//     submissions being handed over right now), skipping failed ones; a
//     replica whose queue is full passes the request to the next one.
// A set with one replica just submits to it.
//
// Created by the reload path (host/core) and installed in sched::Router;
// submit() is called from front-end threads under the Router's shared lock.
// Thread-safe.
#pragma once

#include "host/cache/cache_space.h"
#include "host/metrics/registry.h"
#include "host/sched/model_scheduler.h"
#include "host/sched/request.h"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace citadel::sched {

// One replica: its scheduler, the device its instance runs on, its index.
struct Replica {
  std::shared_ptr<ModelScheduler> scheduler;
  std::string device;
  uint32_t index = 0;
};

// A replica as `citadelctl models` shows it.
struct ReplicaStatus {
  uint32_t index = 0;
  std::string device;
  std::string state;  // the scheduler's listing state
  uint64_t generation = 0;
  ModelSchedulerStats stats;
  uint64_t routed = 0;  // requests this set handed to it
};

class ReplicaSet {
 public:
  // Requests the affinity replica may have in flight beyond the least loaded.
  static constexpr uint64_t kAffinitySlack = 4;
  // Bytes of prompt per affinity chunk, and chunks looked at (a 4 KiB prefix).
  static constexpr uint32_t kChunkBytes = 64;
  static constexpr size_t kMaxChunks = 64;
  // Chunk hashes remembered across all replicas (oldest forgotten first).
  static constexpr size_t kRememberedChunks = 8192;

  // `replicas` must not be empty. The routed counters go to `registry`
  // (citadel_replica_requests_total{model, replica, device}).
  ReplicaSet(std::string model, std::vector<Replica> replicas, metrics::Registry& registry);

  Submission submit(InferenceRequest request, EventSink sink);
  const std::vector<Replica>& replicas() const { return replicas_; }
  const std::shared_ptr<ModelScheduler>& first() const { return replicas_.front().scheduler; }
  std::vector<ReplicaStatus> status() const;

  // The affinity key of a request: chained hashes of the full 64-byte chunks
  // of its prompt text ("prompt", else the serialized "messages"; empty when
  // neither is there or the input is not JSON).
  static std::vector<cache::PrefixHash> prefix_keys(const std::string& input_json);

 private:
  struct Slot {
    std::atomic<uint64_t> pending{0};  // chosen, submit() not yet returned
    std::atomic<uint64_t> routed{0};
    metrics::Counter* routed_counter = nullptr;
  };
  struct Owner {
    uint32_t replica = 0;
    uint64_t stamp = 0;
  };

  uint64_t load(size_t index) const;
  // Replica order to try: the affinity replica or the least loaded first.
  // `affine`: the replica that served the longest matching prefix, if any.
  std::vector<size_t> candidates(const std::vector<cache::PrefixHash>& keys, std::optional<size_t>& affine);
  // Records the keys as served by `index`; chunks owned by another replica
  // keep their owner unless `take_over` (the request went where its
  // affinity pointed, or had none), so an overflow does not move affinity.
  void remember(size_t index, const std::vector<cache::PrefixHash>& keys, bool take_over);

  std::string model_;
  std::vector<Replica> replicas_;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex affinity_mutex_;
  std::unordered_map<cache::PrefixHash, Owner> owners_;
  std::deque<std::pair<cache::PrefixHash, uint64_t>> remembered_;  // oldest first
  uint64_t next_stamp_ = 0;
};

}  // namespace citadel::sched
