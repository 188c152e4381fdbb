// Helpers for the cache tests: a CPU-backed pool without the GC thread,
// space settings, and writing/reading block bytes through the page backend
// (so the same code checks the CPU and the CUDA backends).
#pragma once

#include "host/cache/device_pool.h"
#include "host/cache/page_backend.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace citadel::cache::test {

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

inline std::shared_ptr<DevicePool> make_cpu_pool(uint64_t budget_mb, uint64_t swap_mb = 0) {
  std::shared_ptr<PageBackend> backend = make_cpu_page_backend(budget_mb * kMiB, budget_mb * kMiB * 4);
  auto tier = std::make_shared<HostSwapTier>(swap_mb * kMiB, backend, false);
  return std::make_shared<DevicePool>(backend, tier, PoolOptions{.background_gc = false});
}

inline CacheSpaceSettings space_settings(const std::string& model, uint64_t block_bytes, uint64_t size_mb,
                                         uint64_t reserved_mb = 0,
                                         config::EvictionPolicyKind eviction = config::EvictionPolicyKind::lru,
                                         double gc_threshold = 0.9) {
  CacheSpaceSettings settings;
  settings.model = model;
  settings.geometry.tokens_per_block = 16;
  settings.geometry.block_bytes = block_bytes;
  settings.cache.size_mb = size_mb;
  settings.cache.reserved_mb = reserved_mb;
  settings.cache.eviction = eviction;
  settings.cache.gc_threshold = gc_threshold;
  return settings;
}

// Deterministic pseudo-random content of a block, from a seed.
inline std::vector<uint8_t> block_pattern(uint64_t seed, size_t bytes) {
  std::vector<uint8_t> data(bytes);
  std::mt19937_64 random(seed * 0x9e3779b97f4a7c15ull + 1);
  for (size_t i = 0; i < bytes; i += 8) {
    uint64_t value = random();
    for (size_t j = 0; j < 8 && i + j < bytes; ++j) data[i + j] = static_cast<uint8_t>(value >> (8 * j));
  }
  return data;
}

inline void write_block(DevicePool& pool, const CacheSpace& space, BlockId block, const std::vector<uint8_t>& data) {
  pool.backend().copy_from_host(space.address(block), data.data(), data.size());
  pool.backend().synchronize();
}

inline std::vector<uint8_t> read_block(DevicePool& pool, const CacheSpace& space, BlockId block) {
  std::vector<uint8_t> data(space.geometry().block_bytes);
  pool.backend().copy_to_host(data.data(), space.address(block), data.size());
  pool.backend().synchronize();
  return data;
}

}  // namespace citadel::cache::test
