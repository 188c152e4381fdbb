// EvictionPolicy: the order in which one cache space drops its cached blocks
// (reference count 0, keyed by a prefix hash, reusable until evicted).
//
// Called by: DevicePool for each space, under the pool's lock (not
// thread-safe on its own). Policies, chosen by the model's `cache.eviction`:
//  - lru: the block cached longest ago goes first.
//  - lfu: the block handed out fewest times goes first (allocation + prefix
//    hits); ties go least recently cached first.
//  - size_aware_lru: GreedyDual-Size. Each block gets H = L + 1 / n, where n
//    is the number of blocks cached together with it (its request's cached
//    blocks, a measure of what evicting that group frees); the lowest H goes
//    first and L becomes the evicted H, so recency still ages everyone. Large
//    groups go before small ones of similar age.
//  - adaptive: ARC-like. Blocks used once (uses <= 1) sit in T1, reused ones
//    in T2, each in LRU order; evicted hashes are remembered in ghost lists B1
//    and B2 (capacity blocks each). Target p (size of T1) starts at 0. Evict
//    from T1 when |T1| > p or T2 is empty, else from T2. A prefix miss on a
//    hash in B1 raises p by max(1, |B2|/|B1|) (recency was too short); a miss
//    on a hash in B2 lowers it by max(1, |B1|/|B2|) (frequency was).
#pragma once

#include "host/cache/cache_space.h"
#include "host/config/model_config.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace citadel::cache {

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;

  // `block` became cached. `uses`: times it was handed out; `group_blocks`:
  // how many blocks became cached together with it (>= 1).
  virtual void insert(BlockId block, PrefixHash hash, uint32_t uses, uint32_t group_blocks) = 0;
  // `block` leaves the cache without being evicted (a prefix hit reuses it).
  virtual void erase(BlockId block) = 0;
  // Removes and returns the next block to evict; nullopt when none is cached.
  virtual std::optional<BlockId> evict() = 0;
  // A prefix lookup did not find `hash` (the adaptive policy learns from it).
  virtual void record_miss(PrefixHash) {}

  virtual size_t size() const = 0;
  virtual config::EvictionPolicyKind kind() const = 0;
};

// `capacity_blocks`: the most blocks the space can hold (sizes the adaptive
// policy's ghost lists).
std::unique_ptr<EvictionPolicy> make_eviction_policy(config::EvictionPolicyKind kind, size_t capacity_blocks);

}  // namespace citadel::cache
