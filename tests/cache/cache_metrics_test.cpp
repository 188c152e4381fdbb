// The cache pool's statistics reach /metrics: device and model gauges, and
// counters that follow the pool's running totals without double counting.
#include "cache_test_support.hpp"
#include "host/cache/cache_metrics.h"

#include <catch2/catch.hpp>

using namespace citadel::cache;

TEST_CASE("cache metrics export device gauges and per-model counters", "[cache]") {
  citadel::config::HostConfig host;
  host.devices = {{"cpu", "cpu"}};
  host.cpu_cache_mb = 32;
  CacheManager manager(host, CacheManagerOptions{.pool = {.background_gc = false}});
  citadel::metrics::Registry registry;
  CacheMetricsExporter exporter(registry, manager);
  auto space = manager.create_space("cpu", test::space_settings("m", 64 << 10, 8));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(40, blocks));
  space->publish_prefix(blocks[0], 77);
  space->release(blocks);
  std::vector<BlockId> hit;
  PrefixHash hash = 77;
  REQUIRE(space->match_prefix(std::span(&hash, 1), hit) == 1);

  registry.render();
  std::string text = registry.render();  // twice: counters must not double
  CHECK(text.find("citadel_cache_budget_bytes{device=\"cpu\"} 33554432\n") != std::string::npos);
  CHECK(text.find("citadel_cache_mapped_bytes{device=\"cpu\"} 4194304\n") != std::string::npos);
  CHECK(text.find("citadel_cache_model_used_bytes{device=\"cpu\",model=\"m\"} 65536\n") != std::string::npos);
  CHECK(text.find("citadel_cache_prefix_hits_total{device=\"cpu\",model=\"m\"} 1\n") != std::string::npos);
  CHECK(text.find("citadel_cache_page_maps_total{device=\"cpu\"} 2\n") != std::string::npos);
}
