// Statistics of one device's cache pool and of each cache space in it, as
// plain records and as the JSON the admin `pool` command prints.
//
// Produced by DevicePool::stats / CacheManager::stats; read by host/admin
// (`citadelctl pool`), the metrics collector and the tests.
#pragma once

#include "host/cache/cache_space.h"
#include "host/cache/host_swap_tier.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::cache {

struct SpaceStatsEntry {
  std::string model;
  std::string eviction;         // policy name
  double gc_threshold = 0;
  uint64_t block_bytes = 0;
  uint32_t tokens_per_block = 0;
  uint32_t blocks_per_slab = 0;  // blocks carved from one run of pages
  CacheSpaceStats stats;
  double prefix_hit_rate() const {
    return stats.prefix_queries == 0 ? 0.0 : double(stats.prefix_hits) / double(stats.prefix_queries);
  }
};

// Memory a model keeps on the device outside its cache blocks (DeviceClaim).
struct ClaimStatsEntry {
  std::string model;  // the claiming model's cache space name (model@gN[.rK])
  uint64_t bytes = 0;
};

struct PoolStats {
  std::string device;           // the pool's device name ("cuda:0", or a logical "cuda:0/a")
  std::string physical_device;  // what it lies on ("cpu", "cuda:0")
  uint64_t page_bytes = 0;
  uint64_t budget_bytes = 0;        // physical bytes the pool may map
  uint64_t virtual_bytes = 0;       // size of the address reservation
  uint64_t mapped_bytes = 0;        // pages mapped now
  uint64_t used_bytes = 0;          // live blocks
  uint64_t cached_bytes = 0;        // cached (evictable) blocks
  uint64_t reserved_bytes = 0;      // sum of the spaces' floors
  uint64_t weight_bytes = 0;        // the models' weights on the device, off the budget
  uint64_t claimed_bytes = 0;       // the claims' bytes (tensor-parallel ranks), off the budget
  uint64_t free_in_mapped_bytes = 0;  // mapped - used - cached
  double fragmentation_pct = 0;     // free_in_mapped / mapped * 100
  uint64_t page_maps = 0;           // pages mapped since start
  uint64_t page_unmaps = 0;         // pages unmapped since start
  uint64_t compactions = 0;
  uint64_t gc_runs = 0;
  std::vector<SpaceStatsEntry> spaces;
  std::vector<ClaimStatsEntry> claims;
};

boost::json::object to_json(const CacheSpaceStats& stats);
boost::json::object to_json(const SpaceStatsEntry& space);
boost::json::object to_json(const PoolStats& pool);
boost::json::object to_json(const SwapTierStats& tier);

}  // namespace citadel::cache
