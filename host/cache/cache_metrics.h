// CacheMetricsExporter: publishes the cache pool's statistics (per device and
// per model) to the metrics registry, refreshed by a collector at every
// /metrics render. Counters follow the pool's running totals.
//
// Created by host/core next to the CacheManager; must be destroyed before the
// manager (it removes its collector in the destructor).
#pragma once

#include "host/cache/cache_manager.h"
#include "host/metrics/registry.h"

#include <map>
#include <mutex>
#include <string>

namespace citadel::cache {

class CacheMetricsExporter {
 public:
  CacheMetricsExporter(metrics::Registry& registry, const CacheManager& manager);
  ~CacheMetricsExporter();
  CacheMetricsExporter(const CacheMetricsExporter&) = delete;
  CacheMetricsExporter& operator=(const CacheMetricsExporter&) = delete;

  // What the collector does; public so tests can run it without rendering.
  void collect(metrics::Registry& registry);

 private:
  void count(metrics::Registry& registry, const std::string& name, const std::string& help,
             const metrics::Labels& labels, uint64_t total);

  metrics::Registry& registry_;
  const CacheManager& manager_;
  uint64_t collector_id_ = 0;
  std::mutex mutex_;
  std::map<std::string, uint64_t> last_totals_;  // counter series -> total already added
};

}  // namespace citadel::cache
