// JSON renderings of the pool statistics for the admin `pool` command.
#include "host/cache/pool_stats.h"

#include <boost/json.hpp>

namespace citadel::cache {

boost::json::object to_json(const CacheSpaceStats& stats) {
  return {
      {"budget_bytes", stats.budget_bytes},     {"reserved_bytes", stats.reserved_bytes},
      {"used_bytes", stats.used_bytes},         {"cached_bytes", stats.cached_bytes},
      {"mapped_bytes", stats.mapped_bytes},     {"swapped_bytes", stats.swapped_bytes},
      {"weight_bytes", stats.weight_bytes},
      {"total_blocks", stats.total_blocks},     {"live_blocks", stats.live_blocks},
      {"cached_blocks", stats.cached_blocks},   {"prefix_queries", stats.prefix_queries},
      {"prefix_hits", stats.prefix_hits},       {"evictions", stats.evictions},
      {"swaps_out", stats.swaps_out},           {"swaps_in", stats.swaps_in},
      {"compactions", stats.compactions},       {"gc_runs", stats.gc_runs},
  };
}

boost::json::object to_json(const SpaceStatsEntry& space) {
  boost::json::object object = to_json(space.stats);
  object["model"] = space.model;
  object["eviction"] = space.eviction;
  object["gc_threshold"] = space.gc_threshold;
  object["block_bytes"] = space.block_bytes;
  object["tokens_per_block"] = space.tokens_per_block;
  object["blocks_per_slab"] = space.blocks_per_slab;
  object["prefix_hit_rate"] = space.prefix_hit_rate();
  return object;
}

boost::json::object to_json(const PoolStats& pool) {
  boost::json::array spaces;
  for (const SpaceStatsEntry& space : pool.spaces) spaces.push_back(to_json(space));
  boost::json::array claims;
  for (const ClaimStatsEntry& claim : pool.claims) claims.push_back({{"model", claim.model}, {"bytes", claim.bytes}});
  return {
      {"device", pool.device},
      {"physical_device", pool.physical_device},
      {"page_bytes", pool.page_bytes},
      {"budget_bytes", pool.budget_bytes},
      {"virtual_bytes", pool.virtual_bytes},
      {"mapped_bytes", pool.mapped_bytes},
      {"used_bytes", pool.used_bytes},
      {"cached_bytes", pool.cached_bytes},
      {"reserved_bytes", pool.reserved_bytes},
      {"weight_bytes", pool.weight_bytes},
      {"claimed_bytes", pool.claimed_bytes},
      {"free_in_mapped_bytes", pool.free_in_mapped_bytes},
      {"fragmentation_pct", pool.fragmentation_pct},
      {"page_maps", pool.page_maps},
      {"page_unmaps", pool.page_unmaps},
      {"compactions", pool.compactions},
      {"gc_runs", pool.gc_runs},
      {"spaces", std::move(spaces)},
      {"claims", std::move(claims)},
  };
}

boost::json::object to_json(const SwapTierStats& tier) {
  return {{"capacity_bytes", tier.capacity_bytes}, {"used_bytes", tier.used_bytes},
          {"tickets", tier.tickets},               {"chunks", tier.chunks},
          {"pinned", tier.pinned}};
}

}  // namespace citadel::cache
