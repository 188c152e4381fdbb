// CacheMetricsExporter: gauges from PoolStats, counters advanced by the
// difference between the pool's running totals and what was added before.
#include "host/cache/cache_metrics.h"

namespace citadel::cache {

CacheMetricsExporter::CacheMetricsExporter(metrics::Registry& registry, const CacheManager& manager)
    : registry_(registry), manager_(manager) {
  collector_id_ = registry_.add_collector([this](metrics::Registry& target) { collect(target); });
}

CacheMetricsExporter::~CacheMetricsExporter() { registry_.remove_collector(collector_id_); }

void CacheMetricsExporter::count(metrics::Registry& registry, const std::string& name, const std::string& help,
                                 const metrics::Labels& labels, uint64_t total) {
  std::string key = name;
  for (const auto& [label, value] : labels) key += "|" + label + "=" + value;
  uint64_t& last = last_totals_[key];
  metrics::Counter& counter = registry.counter(name, help, labels);
  if (total > last) counter.add(double(total - last));
  last = total;  // a recreated space starts again from zero
}

void CacheMetricsExporter::collect(metrics::Registry& registry) {
  std::lock_guard lock(mutex_);
  for (const PoolStats& pool : manager_.stats()) {
    const metrics::Labels device{{"device", pool.device}};
    auto gauge = [&](const char* name, const char* help, double value) {
      registry.gauge(name, help, device).set(value);
    };
    registry
        .gauge("citadel_cache_device_info", "The physical device each cache pool lies on (several logical "
                                            "devices may share one)",
               {{"device", pool.device}, {"physical_device", pool.physical_device}})
        .set(1);
    gauge("citadel_cache_budget_bytes", "Physical bytes the device's cache pool may map", double(pool.budget_bytes));
    gauge("citadel_cache_mapped_bytes", "Bytes of pages mapped by the cache pool", double(pool.mapped_bytes));
    gauge("citadel_cache_used_bytes", "Bytes of live cache blocks", double(pool.used_bytes));
    gauge("citadel_cache_cached_bytes", "Bytes of cached (evictable) blocks", double(pool.cached_bytes));
    gauge("citadel_cache_reserved_bytes", "Sum of the models' reserved floors", double(pool.reserved_bytes));
    gauge("citadel_device_weight_bytes", "Bytes of the models' weights on the device (off the cache budget)",
          double(pool.weight_bytes));
    gauge("citadel_device_claimed_bytes",
          "Bytes models keep on the device outside cache blocks (tensor-parallel ranks), off the cache budget",
          double(pool.claimed_bytes));
    for (const ClaimStatsEntry& claim : pool.claims) {
      registry
          .gauge("citadel_model_device_claimed_bytes",
                 "Bytes the model keeps on the device outside its cache blocks (tensor-parallel ranks)",
                 {{"device", pool.device}, {"model", claim.model}})
          .set(double(claim.bytes));
    }
    gauge("citadel_cache_free_in_mapped_bytes", "Mapped bytes holding no block", double(pool.free_in_mapped_bytes));
    gauge("citadel_cache_fragmentation_ratio", "Free share of mapped bytes", pool.fragmentation_pct / 100.0);
    count(registry, "citadel_cache_page_maps_total", "Pages mapped by the cache pool", device, pool.page_maps);
    count(registry, "citadel_cache_page_unmaps_total", "Pages unmapped by the cache pool", device, pool.page_unmaps);
    for (const SpaceStatsEntry& space : pool.spaces) {
      const metrics::Labels labels{{"device", pool.device}, {"model", space.model}};
      const CacheSpaceStats& s = space.stats;
      auto model_gauge = [&](const char* name, const char* help, double value) {
        registry.gauge(name, help, labels).set(value);
      };
      model_gauge("citadel_cache_model_budget_bytes", "Model cache ceiling (cache.size_mb)", double(s.budget_bytes));
      model_gauge("citadel_cache_model_reserved_bytes", "Model cache floor (cache.reserved_mb)", double(s.reserved_bytes));
      model_gauge("citadel_cache_model_used_bytes", "Bytes of the model's live blocks", double(s.used_bytes));
      model_gauge("citadel_cache_model_cached_bytes", "Bytes of the model's cached blocks", double(s.cached_bytes));
      model_gauge("citadel_cache_model_mapped_bytes", "Bytes of pages the model holds", double(s.mapped_bytes));
      model_gauge("citadel_model_device_weight_bytes", "Bytes of the model's weights on the device",
                  double(s.weight_bytes));
      model_gauge("citadel_cache_model_swapped_bytes", "Bytes of the model's blocks in the host tier",
                  double(s.swapped_bytes));
      model_gauge("citadel_cache_model_prefix_hit_ratio", "Prefix blocks found / looked up", space.prefix_hit_rate());
      count(registry, "citadel_cache_prefix_queries_total", "Prefix blocks looked up", labels, s.prefix_queries);
      count(registry, "citadel_cache_prefix_hits_total", "Prefix blocks found", labels, s.prefix_hits);
      count(registry, "citadel_cache_evictions_total", "Cached blocks evicted", labels, s.evictions);
      count(registry, "citadel_cache_swap_out_blocks_total", "Blocks swapped to the host tier", labels, s.swaps_out);
      count(registry, "citadel_cache_swap_in_blocks_total", "Blocks swapped back from the host tier", labels,
            s.swaps_in);
      count(registry, "citadel_cache_compactions_total", "Compactions that moved blocks", labels, s.compactions);
      count(registry, "citadel_cache_gc_runs_total", "GC passes that reclaimed", labels, s.gc_runs);
    }
  }
  SwapTierStats swap = manager_.swap_stats();
  registry.gauge("citadel_cache_swap_capacity_bytes", "Host swap tier size (swap_space_gb)").set(double(swap.capacity_bytes));
  registry.gauge("citadel_cache_swap_used_bytes", "Host swap tier bytes in use").set(double(swap.used_bytes));
}

}  // namespace citadel::cache
